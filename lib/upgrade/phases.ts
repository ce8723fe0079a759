/**
 * The upgrade's phases in order, from wherever the journal says the job is: a
 * new job starts at `planned`; a resumed one redoes what is safe to redo before
 * the swap, goes forward after it, and rolls back when the new release fails.
 */
import { canaryUnavailable, cleanupCanary } from "../release/canary.ts";
import { errorMessage } from "../core/errors.ts";
import type { Host } from "../host/host.ts";
import { advance, type Job } from "../job/job.ts";
import { type Journal, liveTouched, writeJournal } from "../job/journal.ts";
import { readLive } from "../release/live.ts";
import {
  backUp,
  canary,
  checkpoint,
  complete,
  currentStep,
  end,
  pullBoth,
  rollBack,
  sameImages,
  swap,
  verify,
  versions,
} from "./steps.ts";

/** Runs the phases from the journal's phase on; before the swap a failure touches nothing, after it rolls back. */
export async function runPhases(job: Job, options: { canary: boolean }): Promise<number> {
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
      const skip = !options.canary || !job.host.config.canary.enabled
        ? "turned off"
        : canaryUnavailable(job.host);
      if (skip === null) {
        const refused = await canary(job);
        if (refused !== null) return refused;
      } else job.host.log.warn(`canary skipped: ${skip}`);
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

/** Finishes an interrupted job: before the swap, redo from its phase; after, go forward then roll back if needed. */
export async function resume(
  host: Host,
  journal: Journal,
  options: { signal: AbortSignal; canary: boolean },
): Promise<number> {
  const job: Job = { host, journal, signal: options.signal, startedMono: host.clock.monotonic() };
  journal.attempts++;
  if (journal.attempts > host.config.maxAttempts) {
    const times = `was interrupted ${journal.attempts - 1} times (last at phase ${journal.phase})`;
    if (!liveTouched(journal.phase)) {
      return await end(job, {
        result: "failed",
        message: `Upgrade to ${versions(journal.to)} ${times}; giving up. Still running ${
          versions(journal.from)
        }.`,
        step: currentStep(job),
      });
    }
    if (journal.phase !== "rolling-back") {
      // Live units may run the new images: one last try at the known-good release.
      await writeJournal(host.config.stateDir, journal);
      return await rollBack(job, `the upgrade ${times}`);
    }
    return await end(job, {
      result: "rollback-failed",
      message:
        `Rolling back from ${versions(journal.to)} to ${
          versions(journal.from)
        } ${times}; giving up. ` +
        `By hand: 'grapheon-tool status', then 'grapheon-tool rollback'.`,
      step: currentStep(job),
    });
  }
  await writeJournal(host.config.stateDir, journal);
  await cleanupCanary(host);
  host.log.warn(
    `resuming interrupted ${journal.kind} ${journal.id} at phase ${journal.phase} (attempt ${journal.attempts})`,
  );
  if (journal.phase === "finishing" && journal.outcome) return await end(job, journal.outcome);
  if (journal.phase === "rolling-back") {
    return await rollBack(job, journal.failure ?? "interrupted");
  }
  if (journal.phase === "swapping" || journal.phase === "verifying") {
    try {
      const live = await readLive(host);
      await swap(job, { backend: live.backend.imageId, frontend: live.frontend.imageId });
      await advance(job, "verifying");
      await verify(job);
      return await complete(job);
    } catch (err) {
      return await rollBack(job, `interrupted during the swap, then: ${errorMessage(err)}`);
    }
  }
  return await runPhases(job, { canary: options.canary });
}
