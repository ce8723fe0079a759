/**
 * `grapheon-tool upgrade`: the ExecStart of grapheon-upgrade.service. Reads the
 * app's request (or flags), then: 1 back up the database, 2–3 pull both images,
 * (canary), 4 point the run tag at them and restart, 5 verify health and version;
 * on failure at 4–5, roll back to the exact images that ran before. A journal
 * written before each phase lets the next run finish a job that was killed.
 */
import { join } from "node:path";
import {
  type CommandSpec,
  durationFlag,
  parseCommandArgs,
  versionFlag,
} from "../lib/cli/command.ts";
import { errorMessage, InputError, ToolError, UsageError } from "../lib/core/errors.ts";
import { EXIT } from "../lib/core/exit_codes.ts";
import { type Host, hostFor } from "../lib/host/host.ts";
import { advance, type Job, newJobId } from "../lib/job/job.ts";
import { type Journal, readJournal } from "../lib/job/journal.ts";
import { acquireLock } from "../lib/job/lock.ts";
import { parseRequest, readRequestText } from "../lib/job/request_file.ts";
import type { Target } from "../lib/upgrade/plan.ts";
import { dryRun } from "../lib/upgrade/dry_run.ts";
import { blocked, moveJournalAside, refuse, settleStaleStatus } from "../lib/upgrade/ends.ts";
import { upgradeHelp } from "./upgrade_help.ts";
import { resume, runPhases } from "../lib/upgrade/phases.ts";
import { decide, end, versions } from "../lib/upgrade/steps.ts";

/** Parsed options. */
interface UpgradeOptions {
  target: Target | null;
  allowDowngrade: boolean;
  dryRun: boolean;
  recover: boolean;
  canary: boolean;
  lockWaitMs: number;
}

/** How long a run started by systemd waits for a busy lock. */
const SYSTEMD_LOCK_WAIT_MS = 15 * 60_000;

function parseOptions(argv: string[]): UpgradeOptions {
  const { values } = parseCommandArgs("upgrade", argv, {
    version: { type: "string" },
    "backend-version": { type: "string" },
    "frontend-version": { type: "string" },
    "allow-downgrade": { type: "boolean" },
    "dry-run": { type: "boolean" },
    recover: { type: "boolean" },
    "no-canary": { type: "boolean" },
    "wait-for-lock": { type: "string" },
  });
  const both = versionFlag("version", values.version);
  const backend = versionFlag("backend-version", values["backend-version"]) ?? both;
  const frontend = versionFlag("frontend-version", values["frontend-version"]) ?? both;
  if ((backend === undefined) !== (frontend === undefined)) {
    throw new UsageError("give --version, or both --backend-version and --frontend-version");
  }
  return {
    target: backend && frontend ? { backend, frontend } : null,
    allowDowngrade: values["allow-downgrade"] ?? false,
    dryRun: values["dry-run"] ?? false,
    recover: values.recover ?? false,
    canary: !(values["no-canary"] ?? false),
    // Under systemd a busy exit makes the .path unit re-trigger at once until its
    // trigger limit disables it; waiting there serializes the runs instead.
    lockWaitMs: durationFlag(
      "wait-for-lock",
      values["wait-for-lock"],
      Deno.env.get("INVOCATION_ID") ? SYSTEMD_LOCK_WAIT_MS : 0,
    ),
  };
}

/** The `upgrade` command. */
export const upgradeCommand: CommandSpec = {
  name: "upgrade",
  summary:
    "run the requested upgrade (ExecStart of grapheon-upgrade.service), or resume an interrupted one",
  help: upgradeHelp,
  async run(ctx) {
    const options = parseOptions(ctx.argv);
    const host = await hostFor(ctx);
    const { config } = host;
    if (options.dryRun) return await dryRun(ctx, host, options);
    using _lock = await acquireLock(config.stateDir, "upgrade", {
      waitMs: options.lockWaitMs,
      onWait: () => host.log.info("another upgrade or rollback holds the lock; waiting for it"),
    });
    const interrupt = new AbortController();
    const onSignal = () => {
      host.log.warn("interrupted: stopping at the next safe point");
      interrupt.abort(new ToolError("interrupted by a signal"));
    };
    Deno.addSignalListener("SIGTERM", onSignal);
    Deno.addSignalListener("SIGINT", onSignal);
    try {
      const existing = await readJournal(config.stateDir);
      if (existing && "corrupt" in existing) {
        const aside = await moveJournalAside(host);
        return await blocked(host, {
          message:
            `The upgrade journal was unreadable (${existing.corrupt}); it was moved to ${aside}. ` +
            `What runs is unknown to the tool: check 'grapheon-tool status' before upgrading again.`,
          keepJournal: false,
        });
      }
      if (existing?.kind === "rollback") {
        return await blocked(host, {
          message:
            `An interrupted rollback (job ${existing.id}, to ${versions(existing.to)}) must be ` +
            `finished first: run 'grapheon-tool rollback' (it may restore data, which an upgrade cannot).`,
          keepJournal: true,
        });
      }
      if (existing) {
        return await resume(host, existing, { signal: interrupt.signal, canary: options.canary });
      }
      await settleStaleStatus(host);
      if (options.recover) {
        host.log.info("no interrupted upgrade to recover");
        return EXIT.OK;
      }
      return await start(host, options, interrupt.signal);
    } finally {
      Deno.removeSignalListener("SIGTERM", onSignal);
      Deno.removeSignalListener("SIGINT", onSignal);
    }
  },
};

/** Reads the target from the flags or the request file; a bad request is refused and archived. */
async function start(host: Host, options: UpgradeOptions, signal: AbortSignal): Promise<number> {
  const now = host.clock.now();
  let target = options.target;
  let requestText: string | null = null;
  if (!target) {
    try {
      requestText = await readRequestText(host.config.dataDir);
      if (requestText === null) {
        host.log.info("no upgrade requested");
        return EXIT.OK;
      }
      target = parseRequest(requestText, join(host.config.dataDir, "upgrade-requested"));
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      return await refuse(host, { message: errorMessage(err), requestText, archiveAny: true });
    }
  }
  const { from, decision } = await decide(host, { target, allowDowngrade: options.allowDowngrade });
  const journal: Journal = {
    id: newJobId(now),
    kind: "upgrade",
    trigger: options.target ? "operator" : "request",
    startedAt: now.toISOString(),
    attempts: 1,
    phase: "planned",
    from,
    to: {
      backend: { version: target.backend, imageId: null },
      frontend: { version: target.frontend, imageId: null },
    },
    requestText: options.target ? null : requestText,
    backup: null,
    failure: null,
  };
  const job: Job = { host, journal, signal, startedMono: host.clock.monotonic() };
  if (decision.kind === "refuse-downgrade") {
    return await end(job, { result: "refused", message: decision.reason, step: 0 });
  }
  if (decision.kind === "noop") {
    return await end(job, { result: "noop", message: decision.reason, step: 5 });
  }
  host.log.info(
    `upgrade ${journal.id}: backend ${journal.from.backend.version ?? "?"} → ${target.backend}, ` +
      `frontend ${journal.from.frontend.version ?? "?"} → ${target.frontend}`,
  );
  await advance(job, "planned");
  return await runPhases(job, { canary: options.canary });
}
