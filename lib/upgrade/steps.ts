/**
 * The steps of an upgrade (backup, pulls, canary, swap, verification) and the
 * rollback after a failed swap. Each shows its UI step before it acts, and
 * returns or throws: none of them ends the job (lib/upgrade/run.ts does).
 */
import { join } from "node:path";
import { COMPONENTS, errorMessage, formatDuration, ToolError, versionedRef } from "../core/mod.ts";
import type { Host } from "../host/mod.ts";
import {
  advance,
  type Job,
  type Journal,
  type Outcome,
  type ReleasePair,
  saveJournal,
  showStep,
  stepNumber,
} from "../job/mod.ts";
import {
  backupDatabase,
  livePair,
  pruneOldImages,
  pullImage,
  readLive,
  readLiveAndImages,
  runCanary,
  socketServerProblem,
  switchImages,
  unhealthyText,
  verifyHealth,
} from "../release/mod.ts";
import { decideUpgrade, type Decision, type Target } from "./plan.ts";

/** Before step 1: what runs, and whether `target` is an upgrade, a no-op or a refused downgrade. */
export async function decide(
  host: Host,
  options: { target: Target; allowDowngrade: boolean },
): Promise<{ from: ReleasePair; decision: Decision }> {
  const { target } = options;
  // The targets' local IDs come from the same image list as the live versions.
  const { live, images } = await readLiveAndImages(host);
  const from = livePair(live);
  const localTargetIds = {
    backend: images.idOf(versionRef(host, "backend", target.backend)),
    frontend: images.idOf(versionRef(host, "frontend", target.frontend)),
  };
  const decision = decideUpgrade({
    current: from,
    target,
    localTargetIds,
    allowDowngrade: options.allowDowngrade,
  });
  return { from, decision };
}

/** `<image>:vX.Y.Z` of a component. */
export function versionRef(host: Host, which: "backend" | "frontend", version: string): string {
  return versionedRef(host.config[which].image, version);
}

/** Step 1. */
export async function backUp(job: Job): Promise<void> {
  const { host } = job;
  await showStep(job, "backup");
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

/**
 * Steps 2–3: both pulls succeed before anything live is touched. They run at once (each
 * mostly waits on the registry); the UI shows them in order, and the first failure stops the
 * other.
 */
export async function pullBoth(job: Job): Promise<void> {
  const { host, journal } = job;
  const stop = new AbortController();
  const signal = AbortSignal.any([job.signal, stop.signal]);
  const pulls = COMPONENTS.map(async (which) => {
    const ref = versionRef(host, which, journal.to[which].version!);
    const known = journal.to[which].imageId;
    if (known && (await host.podman.imageId(ref)) === known) return known; // resumed after a pull that finished
    return await pullImage(host, { ref, signal });
  });
  pulls.forEach((p) => p.catch(() => stop.abort()));
  try {
    for (const [i, which] of COMPONENTS.entries()) {
      await showStep(job, which === "backend" ? "pull-backend" : "pull-frontend");
      journal.to[which].imageId = await pulls[i];
      await saveJournal(job);
    }
  } finally {
    await Promise.allSettled(pulls);
  }
}

/** Before the canary: why the new backend would not serve the unit's socket, or null. */
export async function socketServer(job: Job): Promise<string | null> {
  const ref = job.journal.to.backend.imageId!;
  const image = await job.host.podman.inspectImage(ref);
  if (!image) throw new ToolError(`image ${ref.slice(0, 12)} cannot be inspected`);
  return socketServerProblem(image);
}

/**
 * The pre-flight canary (issue 9): null when it passed, else why the release
 * was refused. Throws when the canary could not judge the release (podman could
 * not start it, a signal): that is a failure of the host, not of the release.
 */
export async function canary(job: Job): Promise<string | null> {
  await showStep(job, "restart", "Trying the new backend beside the live one (canary)");
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
  return verdict.passed ? null : verdict.reason ?? "no reason given";
}

/** Step 4: the units run the new images. A resumed job starts from what runs now. */
export async function swap(job: Job): Promise<void> {
  const { host, journal } = job;
  await showStep(job, "restart");
  const live = job.resumed ? await readLive(host) : null;
  await switchImages(host, {
    target: { backend: journal.to.backend.imageId!, frontend: journal.to.frontend.imageId! },
    current: live
      ? { backend: live.backend.imageId, frontend: live.frontend.imageId }
      : { backend: journal.from.backend.imageId, frontend: journal.from.frontend.imageId },
    backendVersion: journal.to.backend.version,
    signal: job.signal,
    keep: journal.from,
  });
}

/** Step 5. */
export async function verify(job: Job): Promise<void> {
  await showStep(job, "health");
  const result = await verifyHealth(job.host, {
    backendVersion: job.journal.to.backend.version,
    signal: job.signal,
  });
  if (!result.healthy) {
    throw new ToolError(`${unhealthyText("the new release", result)}: ${result.lastReason}`);
  }
  job.host.log.info(`new release healthy after ${formatDuration(result.elapsedMs)}`);
}

/** After success (and its terminal status): old images pruned, best effort. */
export async function pruneAfter(host: Host, journal: Journal): Promise<void> {
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
}

/**
 * Back to the exact images that ran before, verified. Never throws: the
 * outcome says whether the previous release runs, or what to do by hand.
 */
export async function rollBack(job: Job, reason: string): Promise<Outcome> {
  const { host, journal } = job;
  const failed = `Upgrade to ${versions(journal.to)} failed: ${reason}.`;
  try {
    journal.failure = reason;
    // Unrecorded (a full state dir), the rollback is still better than none.
    await advance(job, "rolling-back").catch((err) =>
      host.log.error(`cannot record the rollback in the journal: ${errorMessage(err)}`)
    );
    host.log.error(`upgrade failed: ${reason}; rolling back to ${versions(journal.from)}`);
    await showStep(job, "health", `Rolling back to ${versions(journal.from)}: ${reason}`);
    if (!journal.from.backend.imageId || !journal.from.frontend.imageId) {
      throw new ToolError(
        "no previous images were recorded (no containers ran before the upgrade)",
      );
    }
    await switchImages(host, {
      target: { backend: journal.from.backend.imageId, frontend: journal.from.frontend.imageId },
      // The backend always (it may crash-loop on the right image); the frontend only when it
      // does not run the previous image, which a release that changed only the backend left.
      current: { backend: null, frontend: journal.from.frontend.imageId },
      backendVersion: journal.from.backend.version,
    });
    const health = await verifyHealth(host, { backendVersion: journal.from.backend.version });
    if (!health.healthy) {
      throw new ToolError(`the previous release is not healthy either: ${health.lastReason}`);
    }
  } catch (err) {
    return {
      result: "rollback-failed",
      message:
        `${failed} Rolling back to ${versions(journal.from)} failed too: ${errorMessage(err)}. ` +
        `By hand: 'grapheon-tool status', then 'grapheon-tool rollback --to ${
          journal.from.backend.version ?? "X.Y.Z"
        }'; ` +
        `logs: 'journalctl -u grapheon-upgrade.service -u ${host.config.backend.service}'.`,
      step: stepNumber("health"),
    };
  }
  return {
    result: "rolled-back",
    message: `${failed} Rolled back: the app is back on ${versions(journal.from)}.`,
    step: stepNumber("health"),
  };
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

/** `0.3.0`, or `backend X / frontend Y` when they differ. */
export function versions(pair: ReleasePair): string {
  const b = pair.backend.version ?? "unknown";
  const f = pair.frontend.version ?? "unknown";
  return b === f ? b : `backend ${b} / frontend ${f}`;
}
