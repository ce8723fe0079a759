/** `grapheon-tool upgrade --dry-run`: the plan (from → to, images, steps), with nothing changed. */
import { join } from "node:path";
import type { CommandContext } from "../cli/command.ts";
import { EXIT } from "../core/exit_codes.ts";
import type { Host } from "../host/host.ts";
import { parseRequest, readRequestText } from "../job/request_file.ts";
import type { Target } from "./plan.ts";
import { decide } from "./steps.ts";

/** What the dry run needs of the upgrade's options. */
export interface DryRunOptions {
  /** Target from the flags, or null to read the request. */
  target: Target | null;
  /** --allow-downgrade. */
  allowDowngrade: boolean;
  /** The canary would run. */
  canary: boolean;
}

/** Prints the plan. */
export async function dryRun(
  ctx: CommandContext,
  host: Host,
  options: DryRunOptions,
): Promise<number> {
  let target = options.target;
  if (!target) {
    const text = await readRequestText(host.config.dataDir);
    if (text === null) {
      ctx.out(
        ctx.global.json
          ? JSON.stringify({ plan: null, reason: "no upgrade requested" })
          : "no upgrade requested",
      );
      return EXIT.OK;
    }
    target = parseRequest(text, join(host.config.dataDir, "upgrade-requested"));
  }
  const { from, decision } = await decide(host, { target, allowDowngrade: options.allowDowngrade });
  const plan = {
    decision: decision.kind,
    reason: "reason" in decision ? decision.reason : null,
    from,
    to: target,
    images: {
      backend: `${host.config.backend.image}:v${target.backend}`,
      frontend: `${host.config.frontend.image}:v${target.frontend}`,
      runTag: host.config.runTag,
    },
    steps: [
      "1 back up network.db",
      "2 pull backend",
      "3 pull frontend",
      ...(options.canary && host.config.canary.enabled
        ? ["canary: run the new backend beside the live one"]
        : []),
      `4 point :${host.config.runTag} at the new images, restart ${host.config.backend.service} then ${host.config.frontend.service}`,
      "5 health check (status and version); roll back on failure",
    ],
  };
  if (ctx.global.json) ctx.out(JSON.stringify(plan, null, 2));
  else {
    ctx.out(`plan: ${decision.kind}${plan.reason ? ` (${plan.reason})` : ""}`);
    ctx.out(
      `from: backend ${from.backend.version ?? "?"} (${
        from.backend.imageId?.slice(0, 12) ?? "no container"
      }), ` +
        `frontend ${from.frontend.version ?? "?"} (${
          from.frontend.imageId?.slice(0, 12) ?? "no container"
        })`,
    );
    ctx.out(`to:   ${plan.images.backend}, ${plan.images.frontend}`);
    for (const s of plan.steps) ctx.out(`  ${s}`);
  }
  return EXIT.OK;
}
