/**
 * Running a planned rollback as a job, with the same bookkeeping as an upgrade
 * (lib/job/job.ts): journal kind "rollback", trigger "operator", the UI's status
 * file (running, then completed or failed), a history entry. Steps: 2–3 pull
 * the images not (or no longer) on the host (nothing live changes before both are
 * there), 4 stop the backend and restore the snapshot if asked, point the run
 * tag at the exact image IDs and restart, 5 verify health and version.
 */
import { COMPONENTS, errorMessage, ms, ToolError } from "../core/mod.ts";
import {
  advance,
  appendHistory,
  blankJournal,
  entryFromJournal,
  type Job,
  type Journal,
  liveTouched,
  newJob,
  type Outcome,
  type ReleasePair,
  saveJournal,
  settle,
  showStep,
  stepNumber,
} from "../job/mod.ts";
import { socketUnit } from "../config/mod.ts";
import type { Host } from "../host/mod.ts";
import {
  keepVersionTag,
  pullImage,
  restoreDatabase,
  type RestoreResult,
  switchImages,
  unhealthyText,
  verifyHealth,
} from "../release/mod.ts";
import { pairText } from "../status/mod.ts";
import type { RollbackPlan } from "./prepare.ts";

/** How the rollback ended. */
export interface RollbackOutcome {
  /** The recorded outcome (its exit code: lib/job/outcome.ts exitFor). */
  outcome: Outcome;
  /** True when the target runs, healthy, with the expected version. */
  ok: boolean;
  /** The job id. */
  jobId: string;
  /** What ran before and what runs now (target image IDs filled in). */
  from: ReleasePair;
  /** The target. */
  to: ReleasePair;
  /** The sentence written to the status file and the history. */
  message: string;
  /** Whether anything live was changed. */
  liveTouched: boolean;
  /** The data restore, when one happened. */
  restore: RestoreResult | null;
  /** Milliseconds from start to end. */
  durationMs: number;
}

/** Records an interrupted job that the operator's rollback replaces, so the history keeps it. */
async function supersede(host: Host, old: Journal): Promise<void> {
  const now = host.clock.now();
  await appendHistory(
    host.config.stateDir,
    entryFromJournal(old, {
      result: "failed",
      message: `Interrupted at phase ${old.phase} (attempt ${old.attempts}); ` +
        `superseded by an operator rollback.`,
      finishedAt: now,
      durationMs: Math.max(0, now.getTime() - Date.parse(old.startedAt)),
    }),
  ).catch((err) => host.log.error(`cannot write history: ${errorMessage(err)}`));
}

async function pullMissing(job: Job, plan: RollbackPlan): Promise<void> {
  const { host, journal } = job;
  for (const pull of plan.pulls) {
    await showStep(
      job,
      pull.which === "backend" ? "pull-backend" : "pull-frontend",
      `Pulling ${pull.ref}`,
    );
    const id = await pullImage(host, { ref: pull.ref, signal: job.signal });
    if (pull.recordedId && id !== pull.recordedId) {
      host.log.warn(
        `${pull.ref} is image ${id.slice(0, 12)} now, not ${
          pull.recordedId.slice(0, 12)
        } as recorded: the tag was moved upstream; using what it names now`,
      );
    }
    journal.to[pull.which].imageId = id;
    await saveJournal(job);
  }
}

async function restoreData(job: Job, plan: RollbackPlan): Promise<RestoreResult> {
  const { host } = job;
  const snapshot = plan.snapshot!;
  await showStep(job, "restart", `Restoring the database snapshot ${snapshot.name}`);
  const unit = host.config.backend.service;
  const socket = socketUnit(unit);
  host.log.info(`stopping ${socket} and ${unit} to restore ${snapshot.name}`);
  // The socket first: a connection to it would start the backend on a half-restored database.
  // The restart that follows starts it again (the service Requires= it).
  const timeoutMs = ms(host.config.timeouts.stop) + ms(host.config.timeouts.restart);
  await host.systemd.stop(socket, timeoutMs);
  await host.systemd.stop(unit, timeoutMs);
  const result = await restoreDatabase({
    dataDir: host.config.dataDir,
    snapshot,
    now: host.clock.now(),
  });
  host.log.info(
    `restored ${snapshot.name} (${result.bytes} bytes, sha256 ${result.sha256.slice(0, 16)}…); ` +
      `the previous database (${result.moved.join(", ") || "none"}) is in ${result.asideDir}`,
  );
  return result;
}

/** Runs the plan; never throws for an expected failure (the outcome says what happened). */
export async function runRollback(
  host: Host,
  plan: RollbackPlan,
  signal: AbortSignal,
): Promise<RollbackOutcome> {
  if (plan.interrupted) await supersede(host, plan.interrupted);
  const journal: Journal = {
    ...blankJournal(host.clock.now(), { kind: "rollback", trigger: "operator", requestText: null }),
    from: plan.from,
    to: structuredClone(plan.to),
    backup: plan.snapshot?.path ?? null,
  };
  const job: Job = newJob(host, journal, signal);
  let restore: RestoreResult | null = null;
  const target = pairText(journal.to);
  host.log.info(`rollback ${journal.id}: ${pairText(journal.from)} → ${target} (${plan.source})`);
  const outcome = await settle(job, async () => {
    await advance(job, "planned");
    await showStep(job, "backup", `Rolling back to ${target} (started by the operator)`);
    await pullMissing(job, plan);
    await advance(job, "pulled");
    if (signal.aborted) throw new ToolError("interrupted by a signal before anything live changed");
    await advance(job, "swapping");
    for (const which of COMPONENTS) {
      await keepVersionTag(host, which, journal.from[which]).catch((err) =>
        host.log.warn(`cannot keep the version tag of the ${which} image: ${errorMessage(err)}`)
      );
    }
    if (plan.snapshot) restore = await restoreData(job, plan);
    await showStep(job, "restart");
    await switchImages(host, {
      target: { backend: journal.to.backend.imageId!, frontend: journal.to.frontend.imageId! },
      current: {
        backend: restore ? null : journal.from.backend.imageId,
        frontend: journal.from.frontend.imageId,
      },
      backendVersion: journal.to.backend.version,
      signal,
    });
    await advance(job, "verifying");
    await showStep(job, "health");
    const health = await verifyHealth(host, { backendVersion: journal.to.backend.version, signal });
    if (!health.healthy) {
      throw new ToolError(`${unhealthyText(target, health)}: ${health.lastReason}`);
    }
    const restored = restore ? ` with the database snapshot ${plan.snapshot!.name}` : "";
    return {
      result: "completed",
      message: `Rolled back from ${
        pairText(journal.from)
      } to ${target}${restored} (by the operator).`,
      step: stepNumber("health"),
    };
  }, (reason) => {
    const aside = restore ? ` The database from before the restore is in ${restore.asideDir}.` : "";
    const message = liveTouched(journal.phase)
      ? `Rollback to ${target} failed: ${reason}.${aside} By hand: 'grapheon-tool status', ` +
        `'journalctl -u ${host.config.backend.service}', then 'grapheon-tool rollback --to X.Y.Z'.`
      : `Rollback to ${target} failed before anything live changed: ${reason}. ` +
        `Still running ${pairText(journal.from)}.`;
    return Promise.resolve({
      result: "failed",
      cause: "needs-operator",
      message,
      step: stepNumber(journal.phase === "verifying" ? "health" : "restart"),
    });
  });
  return {
    outcome,
    ok: outcome.result === "completed",
    jobId: journal.id,
    from: journal.from,
    to: journal.to,
    message: outcome.message,
    liveTouched: liveTouched(journal.phase),
    restore,
    durationMs: Math.round(host.clock.monotonic() - job.startedMono),
  };
}
