/**
 * The steps of an upgrade, in order (backup, pulls, canary, swap, verification),
 * and the two ways it ends after the swap: complete, or roll back. Each writes
 * the status the UI polls before it acts; `commands/upgrade.ts` runs them.
 */
import { join } from "node:path";
import { backupDatabase } from "../release/backup.ts";
import { runCanary } from "../release/canary.ts";
import { formatDuration } from "../core/duration.ts";
import { errorMessage, ToolError } from "../core/errors.ts";
import { EXIT, type ExitCode } from "../core/exit_codes.ts";
import { keepVersionTag, pruneOldImages } from "../release/image_retention.ts";
import { advance, exitFor, finish, type Job, type JobResult, setStatus } from "../job/job.ts";
import { type Journal, type ReleasePair, writeJournal } from "../job/journal.ts";
import { livePair, readLive } from "../release/live.ts";
import { pullImage } from "../release/pull.ts";
import { switchImages, verifyHealth } from "../release/switch.ts";
import { decideUpgrade, type Decision, type Target } from "./plan.ts";
import type { Host } from "../host/host.ts";

/** Before step 1: what runs, and whether `target` is an upgrade, a no-op or a refused downgrade. */
export async function decide(
  host: Host,
  options: { target: Target; allowDowngrade: boolean },
): Promise<{ from: ReleasePair; decision: Decision }> {
  const from = livePair(await readLive(host));
  const { target } = options;
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
  return { from, decision };
}

/** Step 1. */
export async function backUp(job: Job): Promise<void> {
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
export async function pullBoth(job: Job): Promise<void> {
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
export async function canary(job: Job): Promise<number | null> {
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
  if (job.signal.aborted) throw new ToolError("interrupted by a signal during the canary");
  if (verdict.notStarted) {
    throw new ToolError(
      `the canary container could not be started (${verdict.reason}), so the release was not judged`,
    );
  }
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

/** Step 4. `current`: the images running now, when they may differ from the journal's `from` (a resume). */
export async function swap(
  job: Job,
  current?: { backend: string | null; frontend: string | null },
): Promise<void> {
  const { host, journal } = job;
  await setStatus(job, { status: "running", step: 4 });
  for (const which of ["backend", "frontend"] as const) {
    await keepVersionTag(host, which, journal.from[which]);
  }
  await switchImages(host, {
    target: { backend: journal.to.backend.imageId!, frontend: journal.to.frontend.imageId! },
    current: current ??
      { backend: journal.from.backend.imageId, frontend: journal.from.frontend.imageId },
  });
}

/** Step 5. */
export async function verify(job: Job): Promise<void> {
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
export async function complete(job: Job): Promise<number> {
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
export async function rollBack(job: Job, reason: string): Promise<number> {
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
      // Force the backend; the frontend only if the backend's restart did not bring it back.
      current: { backend: null, frontend: null },
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

/** Ends the job with an outcome and returns its exit code. */
export async function end(
  job: Job,
  outcome: { result: JobResult; message: string; step: number; archiveAny?: boolean },
  refusedCode?: ExitCode,
): Promise<number> {
  await finish(job, outcome);
  return exitFor(outcome.result, refusedCode);
}

/** Throws when a signal asked to stop (a safe point before the swap). */
export function checkpoint(job: Job): void {
  if (job.signal.aborted) throw new ToolError("interrupted by a signal before the swap");
}

/** True when the pulled images are the ones already running. */
export function sameImages(j: Journal): boolean {
  return j.to.backend.imageId === j.from.backend.imageId &&
    j.to.frontend.imageId === j.from.frontend.imageId;
}

/** The UI step a phase belongs to. */
export function currentStep(job: Job): number {
  return job.lastStep ?? {
    planned: 1,
    "backed-up": 2,
    pulled: 4,
    "canary-passed": 4,
    swapping: 4,
    verifying: 5,
    "rolling-back": 5,
    finishing: 5,
  }[
    job.journal.phase
  ];
}

/** `0.3.0`, or `backend X / frontend Y` when they differ. */
export function versions(pair: Journal["from"]): string {
  const b = pair.backend.version ?? "unknown";
  const f = pair.frontend.version ?? "unknown";
  return b === f ? b : `backend ${b} / frontend ${f}`;
}
