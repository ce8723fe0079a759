/**
 * Bookkeeping of one upgrade or rollback job: the journal phase, the status the
 * UI polls, and the terminal record (history, request archived, journal
 * cleared). Each write happens before the effect it describes, so a killed run
 * can be finished by the next one.
 */
import { EXIT, type ExitCode } from "../core/exit_codes.ts";
import { errorMessage } from "../core/errors.ts";
import { appendHistory, entryFromJournal, type HistoryEntry } from "./history.ts";
import type { Host } from "../host/host.ts";
import { clearJournal, type Journal, type Phase, writeJournal } from "./journal.ts";
import { archiveRequest } from "./request_file.ts";
import { buildStatus, type StatusValue, STEP_LABELS, writeStatus } from "./status_file.ts";

/** A job in progress. */
export interface Job {
  /** Adapters and config. */
  host: Host;
  /** The journal, kept in step with the file. */
  journal: Journal;
  /** Aborted by SIGTERM/SIGINT; checked at safe points. */
  signal: AbortSignal;
  /** Monotonic start, for the duration. */
  startedMono: number;
  /** The step the status last showed (a failure is reported under it). */
  lastStep?: number;
}

/** How a job ended, and the exit code it means. */
export type JobResult = HistoryEntry["result"];

/** The exit code for a result. */
export function exitFor(result: JobResult, refusedCode: ExitCode = EXIT.BAD_INPUT): ExitCode {
  switch (result) {
    case "completed":
    case "noop":
      return EXIT.OK;
    case "rolled-back":
      return EXIT.ROLLED_BACK;
    case "rollback-failed":
      return EXIT.ROLLBACK_FAILED;
    case "failed":
      return EXIT.FAILURE;
    case "refused":
      return refusedCode;
  }
}

/** The tool's own status fields for a job. */
export function statusExtra(journal: Journal, rolledBack: boolean): Record<string, unknown> {
  return {
    from_version: journal.from.backend.version,
    to_version: journal.to.backend.version,
    from_frontend_version: journal.from.frontend.version,
    to_frontend_version: journal.to.frontend.version,
    rolled_back: rolledBack,
    backup: journal.backup,
    job_id: journal.id,
    kind: journal.kind,
    tool: "grapheon-tool",
  };
}

/** Writes the UI status; a failure to write is logged, never allowed to break the job. */
export async function setStatus(
  job: Job,
  update: { status: StatusValue; step: number; message?: string; rolledBack?: boolean },
): Promise<void> {
  const { host } = job;
  const message = update.message ?? STEP_LABELS[update.step - 1] ?? "";
  if (update.status === "running") job.lastStep = update.step;
  try {
    await writeStatus(
      host.config.dataDir,
      buildStatus(
        {
          status: update.status,
          step: update.step,
          message,
          extra: statusExtra(job.journal, update.rolledBack ?? false),
        },
        host.clock.now(),
      ),
      host.log,
    );
  } catch (err) {
    host.log.error(`cannot write the upgrade status: ${errorMessage(err)}`);
  }
}

/** Records that the job reached `phase` (journal written before the phase's effects). */
export async function advance(job: Job, phase: Phase): Promise<void> {
  job.journal.phase = phase;
  await writeJournal(job.host.config.stateDir, job.journal);
  job.host.log.debug(`journal: phase ${phase}`);
}

/** Ends a job: terminal status, history, the request archived, journal cleared. */
export async function finish(
  job: Job,
  outcome: {
    result: JobResult;
    message: string;
    step: number;
    /** Archive whatever request file is there (a bad request), not only the one this job read. */
    archiveAny?: boolean;
    /** Leave the journal in place (it belongs to another job the operator must finish). */
    keepJournal?: boolean;
  },
): Promise<void> {
  const { host, journal } = job;
  if (!outcome.keepJournal) {
    // Recorded first: a crash from here on only redoes this bookkeeping, never the work.
    await writeJournal(host.config.stateDir, {
      ...journal,
      phase: "finishing",
      outcome: { result: outcome.result, message: outcome.message, step: outcome.step },
    });
  }
  const terminal: StatusValue = outcome.result === "completed" || outcome.result === "noop"
    ? "completed"
    : "failed";
  const rolledBack = outcome.result === "rolled-back";
  await setStatus(job, {
    status: terminal,
    step: outcome.step,
    message: outcome.message,
    rolledBack,
  });
  const now = host.clock.now();
  await appendHistory(
    host.config.stateDir,
    entryFromJournal(journal, {
      result: outcome.result,
      message: outcome.message,
      finishedAt: now,
      durationMs: Math.round(host.clock.monotonic() - job.startedMono),
    }),
  ).catch((err) => host.log.error(`cannot write history: ${errorMessage(err)}`));
  if (journal.requestText !== null || outcome.archiveAny) {
    const archived = await archiveRequest({
      dataDir: host.config.dataDir,
      stateDir: host.config.stateDir,
      outcome: outcome.result,
      expectText: outcome.archiveAny ? undefined : journal.requestText ?? undefined,
      now,
    }).catch((err) => {
      host.log.error(`cannot archive the upgrade request: ${errorMessage(err)}`);
      return null;
    });
    if (archived?.kind === "archived") host.log.info(`request archived as ${archived.path}`);
    if (archived?.kind === "moved-aside") {
      host.log.warn(`the request was ${archived.what}; moved aside, unread, to ${archived.path}`);
    }
    if (archived?.kind === "replaced") {
      host.log.info(
        "the request was rewritten during the job; the new one is left for the next run",
      );
    }
  }
  if (!outcome.keepJournal) await clearJournal(host.config.stateDir);
  const log = outcome.result === "completed" || outcome.result === "noop"
    ? host.log.info
    : host.log.error;
  log(`${journal.kind} ${outcome.result}: ${outcome.message}`);
}

/** A new job id (time-ordered). */
export function newJobId(now: Date): string {
  return `${now.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z")}-${
    crypto.randomUUID().slice(0, 6)
  }`;
}
