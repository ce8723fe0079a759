/**
 * `grapheon-tool upgrade`: the ExecStart of grapheon-upgrade.service. Reads the
 * app's request (or flags), then: 1 back up the database, 2–3 pull both images,
 * (canary), 4 point the run tag at them and restart, 5 verify health and version;
 * on failure at 4–5, roll back to the exact images that ran before. A journal
 * written before each phase lets the next run finish a job that was killed.
 */
import { join } from "node:path";
import { type AppVersion, appVersionSchema } from "../lib/app_version.ts";
import { backupDatabase } from "../lib/backup.ts";
import { type CommandContext, type CommandSpec, parseCommandArgs } from "../lib/cli.ts";
import { loadConfig } from "../lib/config.ts";
import { formatDuration } from "../lib/duration.ts";
import { errorMessage, InputError, ToolError, UsageError } from "../lib/errors.ts";
import { EXIT, type ExitCode } from "../lib/exit_codes.ts";
import { type Host, realHost } from "../lib/host.ts";
import { keepVersionTag, pruneOldImages } from "../lib/image_retention.ts";
import {
  advance,
  exitFor,
  finish,
  type Job,
  type JobResult,
  newJobId,
  setStatus,
} from "../lib/job.ts";
import { type Journal, liveTouched, readJournal, writeJournal } from "../lib/journal.ts";
import { livePair, readLive } from "../lib/live.ts";
import { acquireLock } from "../lib/lock.ts";
import { pullImage } from "../lib/pull.ts";
import { parseRequest, readRequestText } from "../lib/request_file.ts";
import { readStatus } from "../lib/status_file.ts";
import { switchImages, verifyHealth } from "../lib/switch.ts";
import { decideUpgrade, type Target } from "../lib/upgrade_plan.ts";
import { cleanupCanary, runCanary } from "../lib/canary.ts";
import { upgradeHelp } from "./upgrade_help.ts";

/** Parsed options. */
interface UpgradeOptions {
  target: Target | null;
  allowDowngrade: boolean;
  dryRun: boolean;
  recover: boolean;
  canary: boolean;
}

function versionFlag(flag: string, value: string | undefined): AppVersion | undefined {
  if (value === undefined) return undefined;
  const parsed = appVersionSchema.safeParse(value);
  if (!parsed.success) {
    throw new UsageError(`--${flag}: expected a version X.Y.Z, got "${value.slice(0, 40)}"`);
  }
  return parsed.data;
}

function parseOptions(argv: string[]): UpgradeOptions {
  const { values } = parseCommandArgs("upgrade", argv, {
    version: { type: "string" },
    "backend-version": { type: "string" },
    "frontend-version": { type: "string" },
    "allow-downgrade": { type: "boolean" },
    "dry-run": { type: "boolean" },
    recover: { type: "boolean" },
    "no-canary": { type: "boolean" },
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
    const { config } = await loadConfig(ctx.global.configPath);
    const host = realHost(config, ctx.log);
    if (options.dryRun) return await dryRun(ctx, host, options);
    using _lock = await acquireLock(config.stateDir, "upgrade");
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
        throw new ToolError(
          `the upgrade journal is unreadable (${existing.corrupt}); run 'grapheon-tool status'`,
        );
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
  const live = await readLive(host);
  const journal: Journal = {
    id: newJobId(now),
    kind: "upgrade",
    trigger: options.target ? "operator" : "request",
    startedAt: now.toISOString(),
    attempts: 1,
    phase: "planned",
    from: livePair(live),
    to: {
      backend: { version: target.backend, imageId: null },
      frontend: { version: target.frontend, imageId: null },
    },
    requestText: options.target ? null : requestText,
    backup: null,
    failure: null,
  };
  const job: Job = { host, journal, signal, startedMono: host.clock.monotonic() };
  const localTargetIds = {
    backend: await host.podman.imageId(`${host.config.backend.image}:v${target.backend}`),
    frontend: await host.podman.imageId(`${host.config.frontend.image}:v${target.frontend}`),
  };
  const decision = decideUpgrade({
    current: journal.from,
    target,
    localTargetIds,
    allowDowngrade: options.allowDowngrade,
  });
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

/** Runs the phases from the journal's phase on; before the swap a failure touches nothing, after it rolls back. */
async function runPhases(job: Job, options: { canary: boolean }): Promise<number> {
  try {
    if (job.journal.phase === "planned") {
      await backUp(job);
      await advance(job, "backed-up");
    }
    if (job.journal.phase === "backed-up") {
      await pullBoth(job);
      if (sameImages(job.journal)) {
        return await end(job, {
          result: "noop",
          message: "the requested images are the ones already running",
          step: 5,
        });
      }
      await advance(job, "pulled");
    }
    if (job.journal.phase === "pulled") {
      if (options.canary && job.host.config.canary.enabled) {
        const refused = await canary(job);
        if (refused !== null) return refused;
      }
      await advance(job, "canary-passed");
    }
    checkpoint(job);
    await advance(job, "swapping");
    await swap(job);
    await advance(job, "verifying");
    await verify(job);
    return await complete(job);
  } catch (err) {
    const reason = job.signal.aborted ? "interrupted by a signal" : errorMessage(err);
    if (!liveTouched(job.journal.phase)) {
      return await end(job, {
        result: "failed",
        message:
          `Upgrade to ${
            versions(job.journal.to)
          } failed before anything live changed: ${reason}. ` +
          `Still running ${versions(job.journal.from)}.`,
        step: currentStep(job),
      });
    }
    return await rollBack(job, reason);
  }
}

/** Step 1. */
async function backUp(job: Job): Promise<void> {
  const { host } = job;
  await setStatus(job, { status: "running", step: 1 });
  const result = await backupDatabase({
    dataDir: host.config.dataDir,
    backupsDir: join(host.config.stateDir, "backups"),
    fromVersion: job.journal.from.backend.version,
    keep: host.config.backups.keep,
    now: host.clock.now(),
  });
  if (result.kind === "no-database") {
    host.log.warn(`no database to back up: ${result.reason}`);
    job.journal.backup = null;
  } else {
    host.log.info(`database backed up to ${result.path} (${result.bytes} bytes)`);
    job.journal.backup = result.path;
  }
}

/** Steps 2–3: both pulls succeed before anything live is touched. */
async function pullBoth(job: Job): Promise<void> {
  const { host, journal } = job;
  for (const [step, which] of [[2, "backend"], [3, "frontend"]] as const) {
    await setStatus(job, { status: "running", step });
    const ref = `${host.config[which].image}:v${journal.to[which].version}`;
    const known = journal.to[which].imageId;
    if (known && (await host.podman.imageId(ref)) === known) continue; // resumed after a pull that finished
    journal.to[which].imageId = await pullImage(host, { ref, signal: job.signal });
    await writeJournal(host.config.stateDir, journal);
  }
}

/** The pre-flight canary (issue 9): null when it passed, else the refused exit code. */
async function canary(job: Job): Promise<number | null> {
  await setStatus(job, {
    status: "running",
    step: 4,
    message: "Trying the new backend beside the live one (canary)",
  });
  const verdict = await runCanary(job.host, {
    imageId: job.journal.to.backend.imageId!,
    version: job.journal.to.backend.version!,
    backupPath: job.journal.backup,
    signal: job.signal,
  });
  if (verdict.passed) return null;
  const code = await end(job, {
    result: "refused",
    message:
      `Upgrade to ${
        versions(job.journal.to)
      } refused: the new backend failed its canary (${verdict.reason}). ` +
      `Nothing live was touched; still running ${versions(job.journal.from)}.`,
    step: 4,
  }, EXIT.CANARY_REFUSED);
  return code;
}

/** Step 4. */
async function swap(job: Job): Promise<void> {
  const { host, journal } = job;
  await setStatus(job, { status: "running", step: 4 });
  for (const which of ["backend", "frontend"] as const) {
    await keepVersionTag(host, which, journal.from[which]);
  }
  await switchImages(host, {
    target: { backend: journal.to.backend.imageId!, frontend: journal.to.frontend.imageId! },
    current: { backend: journal.from.backend.imageId, frontend: journal.from.frontend.imageId },
  });
}

/** Step 5. */
async function verify(job: Job): Promise<void> {
  await setStatus(job, { status: "running", step: 5 });
  const result = await verifyHealth(job.host, {
    backendVersion: job.journal.to.backend.version,
    signal: job.signal,
  });
  if (!result.healthy) {
    throw new ToolError(
      `the new release was not healthy within ${
        formatDuration(result.elapsedMs)
      }: ${result.lastReason}`,
    );
  }
  job.host.log.info(`new release healthy after ${formatDuration(result.elapsedMs)}`);
}

/** Success: the terminal status first (the UI is waiting), then old images are pruned, best effort. */
async function complete(job: Job): Promise<number> {
  const { journal, host } = job;
  const code = await end(job, {
    result: "completed",
    message: `Upgraded from ${versions(journal.from)} to ${versions(journal.to)}.`,
    step: 5,
  });
  const protect = new Set(
    [
      journal.to.backend.imageId,
      journal.to.frontend.imageId,
      journal.from.backend.imageId,
      journal.from.frontend.imageId,
    ].filter((x): x is string => x !== null),
  );
  await pruneOldImages(host, protect).catch((err) =>
    host.log.warn(`image pruning failed: ${errorMessage(err)}`)
  );
  return code;
}

/** Back to the exact images that ran before, verified; says what to do by hand if that fails too. */
async function rollBack(job: Job, reason: string): Promise<number> {
  const { host, journal } = job;
  journal.failure = reason;
  await advance(job, "rolling-back");
  host.log.error(`upgrade failed: ${reason}; rolling back to ${versions(journal.from)}`);
  await setStatus(job, {
    status: "running",
    step: 5,
    message: `Rolling back to ${versions(journal.from)}: ${reason}`,
  });
  const failed = `Upgrade to ${versions(journal.to)} failed: ${reason}.`;
  try {
    if (!journal.from.backend.imageId || !journal.from.frontend.imageId) {
      throw new ToolError(
        "no previous images were recorded (no containers ran before the upgrade)",
      );
    }
    await switchImages(host, {
      target: { backend: journal.from.backend.imageId, frontend: journal.from.frontend.imageId },
      current: null,
    });
    const health = await verifyHealth(host, { backendVersion: journal.from.backend.version });
    if (!health.healthy) {
      throw new ToolError(`the previous release is not healthy either: ${health.lastReason}`);
    }
  } catch (err) {
    return await end(job, {
      result: "rollback-failed",
      message:
        `${failed} Rolling back to ${versions(journal.from)} failed too: ${errorMessage(err)}. ` +
        `By hand: 'grapheon-tool status', then 'grapheon-tool rollback --to ${
          journal.from.backend.version ?? "X.Y.Z"
        }'; ` +
        `logs: 'journalctl -u grapheon-upgrade.service -u ${host.config.backend.service}'.`,
      step: 5,
    });
  }
  return await end(job, {
    result: "rolled-back",
    message: `${failed} Rolled back: the app is back on ${versions(journal.from)}.`,
    step: 5,
  });
}

/** Finishes an interrupted job: before the swap, redo from its phase; after, go forward then roll back if needed. */
async function resume(
  host: Host,
  journal: Journal,
  options: { signal: AbortSignal; canary: boolean },
): Promise<number> {
  const job: Job = { host, journal, signal: options.signal, startedMono: host.clock.monotonic() };
  journal.attempts++;
  if (journal.attempts > host.config.maxAttempts) {
    const touched = liveTouched(journal.phase);
    return await end(job, {
      result: touched ? "rollback-failed" : "failed",
      message:
        `Upgrade to ${versions(journal.to)} was interrupted ${
          journal.attempts - 1
        } times (last at phase ` +
        `${journal.phase}); giving up. ${
          touched
            ? "Check 'grapheon-tool status' and run 'grapheon-tool rollback'."
            : `Still running ${versions(journal.from)}.`
        }`,
      step: currentStep(job),
    });
  }
  await writeJournal(host.config.stateDir, journal);
  await cleanupCanary(host);
  host.log.warn(
    `resuming interrupted ${journal.kind} ${journal.id} at phase ${journal.phase} (attempt ${journal.attempts})`,
  );
  if (journal.phase === "rolling-back") {
    return await rollBack(job, journal.failure ?? "interrupted");
  }
  if (journal.phase === "swapping" || journal.phase === "verifying") {
    try {
      await swap(job);
      await advance(job, "verifying");
      await verify(job);
      return await complete(job);
    } catch (err) {
      return await rollBack(job, `interrupted during the swap, then: ${errorMessage(err)}`);
    }
  }
  return await runPhases(job, { canary: options.canary });
}

/** A status left `running` with no journal (killed before the first phase): make it terminal. */
async function settleStaleStatus(host: Host): Promise<void> {
  const status = await readStatus(host.config.dataDir);
  if (status?.status !== "running") return;
  const job: Job = {
    host,
    journal: emptyJournal(host, null),
    signal: new AbortController().signal,
    startedMono: host.clock.monotonic(),
  };
  job.journal.from = {
    backend: { version: status.from_version ?? null, imageId: null },
    frontend: { version: null, imageId: null },
  };
  job.journal.to = {
    backend: { version: status.to_version ?? null, imageId: null },
    frontend: { version: null, imageId: null },
  };
  await end(job, {
    result: "failed",
    message: "The previous upgrade was interrupted before it changed anything.",
    step: status.step ?? 0,
  });
}

async function refuse(
  host: Host,
  options: { message: string; requestText: string | null; archiveAny: boolean },
): Promise<number> {
  const job: Job = {
    host,
    journal: emptyJournal(host, options.requestText),
    signal: new AbortController().signal,
    startedMono: host.clock.monotonic(),
  };
  job.journal.from = livePair(await readLive(host).catch(() => null) ?? emptyLive());
  return await end(job, {
    result: "refused",
    message: `Upgrade request refused: ${options.message}`,
    step: 0,
    archiveAny: options.archiveAny,
  });
}

function emptyLive() {
  const none = { version: null, imageId: null, running: false, versionSource: "none" as const };
  return { backend: none, frontend: none, health: { status: null, error: null } };
}

function emptyJournal(host: Host, requestText: string | null): Journal {
  const now = host.clock.now();
  const none = { version: null, imageId: null };
  return {
    id: newJobId(now),
    kind: "upgrade",
    trigger: "request",
    startedAt: now.toISOString(),
    attempts: 1,
    phase: "planned",
    from: { backend: none, frontend: none },
    to: { backend: { ...none }, frontend: { ...none } },
    requestText,
    backup: null,
    failure: null,
  };
}

async function end(
  job: Job,
  outcome: { result: JobResult; message: string; step: number; archiveAny?: boolean },
  refusedCode?: ExitCode,
): Promise<number> {
  await finish(job, outcome);
  return exitFor(outcome.result, refusedCode);
}

function checkpoint(job: Job): void {
  if (job.signal.aborted) throw new ToolError("interrupted by a signal before the swap");
}

function sameImages(j: Journal): boolean {
  return j.to.backend.imageId === j.from.backend.imageId &&
    j.to.frontend.imageId === j.from.frontend.imageId;
}

function currentStep(job: Job): number {
  return {
    planned: 1,
    "backed-up": 2,
    pulled: 4,
    "canary-passed": 4,
    swapping: 4,
    verifying: 5,
    "rolling-back": 5,
  }[
    job.journal.phase
  ];
}

function versions(pair: Journal["from"]): string {
  const b = pair.backend.version ?? "unknown";
  const f = pair.frontend.version ?? "unknown";
  return b === f ? b : `backend ${b} / frontend ${f}`;
}

async function dryRun(ctx: CommandContext, host: Host, options: UpgradeOptions): Promise<number> {
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
  const live = await readLive(host);
  const from = livePair(live);
  const localTargetIds = {
    backend: await host.podman.imageId(`${host.config.backend.image}:v${target.backend}`),
    frontend: await host.podman.imageId(`${host.config.frontend.image}:v${target.frontend}`),
  };
  const decision = decideUpgrade({
    current: from,
    target,
    localTargetIds,
    allowDowngrade: options.allowDowngrade,
  });
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
