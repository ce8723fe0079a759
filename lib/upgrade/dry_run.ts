/** `grapheon-tool upgrade --dry-run`: the plan (from → to, images, steps), with nothing changed. */
import { join } from "node:path";
import { z } from "zod";
import type { Host } from "../host/mod.ts";
import { pairSchema, parseRequest, readRequestText, STEPS } from "../job/mod.ts";
import { canaryPolicy } from "./canary_policy.ts";
import type { Target } from "./plan.ts";
import { decide, versionRef } from "./steps.ts";

/** The dry run's `--json` document when there is a target. */
export const planSchema = z.object({
  decision: z.enum(["upgrade", "noop", "refuse-downgrade"]),
  reason: z.string().nullable(),
  from: pairSchema,
  to: z.object({ backend: z.string(), frontend: z.string() }),
  images: z.object({ backend: z.string(), frontend: z.string(), runTag: z.string() }),
  canary: z.object({ run: z.boolean(), reason: z.string().nullable() }),
  steps: z.array(z.string()),
});

/** The dry run's `--json` document: the plan, or why there is none. */
export const dryRunSchema = z.union([
  planSchema,
  z.object({ plan: z.null(), reason: z.string() }),
]);

/** The dry run's result. */
export type DryRun = z.infer<typeof dryRunSchema>;

/** The plan for `target` (or the pending request), as the run would make it. */
export async function planUpgrade(
  host: Host,
  options: { target: Target | null; allowDowngrade: boolean; canary: boolean },
): Promise<DryRun> {
  let target = options.target;
  if (!target) {
    const text = await readRequestText(host.config.dataDir);
    if (text === null) return { plan: null, reason: "no upgrade requested" };
    target = parseRequest(text, join(host.config.dataDir, "upgrade-requested"));
  }
  const { from, decision } = await decide(host, { target, allowDowngrade: options.allowDowngrade });
  const policy = canaryPolicy(host, options.canary);
  return {
    decision: decision.kind,
    reason: "reason" in decision ? decision.reason : null,
    from,
    to: target,
    images: {
      backend: versionRef(host, "backend", target.backend),
      frontend: versionRef(host, "frontend", target.frontend),
      runTag: host.config.runTag,
    },
    canary: { run: policy.run, reason: policy.run ? null : policy.reason },
    steps: STEPS.map((s, i) => `${i + 1} ${s.label}`),
  };
}

/** The plan in words, a line each. */
export function dryRunLines(dry: DryRun): string[] {
  if ("plan" in dry) return [dry.reason];
  const plan = dry;
  const img = (id: string | null) => id?.slice(0, 12) ?? "no container";
  return [
    `plan: ${plan.decision}${plan.reason ? ` (${plan.reason})` : ""}`,
    `from: backend ${plan.from.backend.version ?? "?"} (${img(plan.from.backend.imageId)}), ` +
    `frontend ${plan.from.frontend.version ?? "?"} (${img(plan.from.frontend.imageId)})`,
    `to:   ${plan.images.backend}, ${plan.images.frontend} (as :${plan.images.runTag})`,
    `canary: ${plan.canary.run ? "runs" : `skipped: ${plan.canary.reason}`}`,
    ...plan.steps.map((s) => `  ${s}`),
  ];
}
