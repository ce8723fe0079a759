/**
 * Bookkeeping of one upgrade or rollback job: the journal phase, the status the
 * UI polls, and the terminal record (history, request archived, journal
 * cleared). Each write happens before the effect it describes, so a killed run
 * can be finished by the next one.
 *
 * The guarantee lives here, in two functions: `settle` runs a job's body and
 * turns anything it throws into a recorded outcome, and `finish` never throws:
 * each of its records is attempted even when another fails (a full disk, a
 * vanished directory), so every path from "request seen" to exit ends in a
 * terminal status and a handled request.
 */
import { errorMessage } from "../core/mod.ts";
import { appendHistory, entryFromJournal } from "./history.ts";
import type { Host } from "../host/mod.ts";
import { clearJournal, type Journal, writeJournal } from "./journal.ts";
import { type Outcome, succeeded } from "./outcome.ts";
import {
  NOT_STARTED,
  type Phase,
  PHASE_STEP,
  STEP_LABELS,
  type StepKey,
  stepNumber,
} from "./progress.ts";
import { archiveRequest } from "./request_file.ts";
import { buildStatus, type StatusValue, writeStatus } from "./status_file.ts";

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
  /** True when this run continues a job an earlier run left in the journal. */
  resumed?: boolean;
  /** Monotonic time at which each phase was entered in this run. */
  entered?: Partial<Record<Phase, number>>;
}

/** The tool's own status fields for a job. */
function statusExtra(journal: Journal, rolledBack: boolean): Record<string, unknown> {
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
async function writeUiStatus(
  job: Job,
  update: { status: StatusValue; step: number; message: string; rolledBack?: boolean },
): Promise<void> {
  const { host } = job;
  try {
    await writeStatus(
      host.config.dataDir,
      buildStatus(
        {
          status: update.status,
          step: update.step,
          message: update.message,
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

/** Shows the job running at `step` (with the step's own label unless a message is given). */
export async function showStep(job: Job, step: StepKey, message?: string): Promise<void> {
  const n = stepNumber(step);
  job.lastStep = n;
  await writeUiStatus(job, { status: "running", step: n, message: message ?? STEP_LABELS[n - 1] });
}

/** The UI step a failure now is reported under: the last one shown, else the phase's. */
export function currentStep(job: Job): number {
  return job.lastStep ?? stepNumber(PHASE_STEP[job.journal.phase]);
}

/** Writes the job's journal (or `journal`, a variant of it) atomically: every journal write goes here. */
export async function saveJournal(job: Job, journal: Journal = job.journal): Promise<void> {
  await writeJournal(job.host.config.stateDir, journal);
  job.host.onJournal?.(journal);
}

/** Records that the job reached `phase` (journal written before the phase's effects). */
export async function advance(job: Job, phase: Phase): Promise<void> {
  job.journal.phase = phase;
  (job.entered ??= {})[phase] = job.host.clock.monotonic();
  await saveJournal(job);
  job.host.log.debug(`journal: phase ${phase}`);
}

/** What `finish` does besides recording the outcome. */
export interface FinishOptions {
  /** Archive whatever request file is there (a bad request), not only the one this job read. */
  archiveAny?: boolean;
  /** Leave the journal in place (it belongs to another job the operator must finish). */
  keepJournal?: boolean;
}

/**
 * Ends a job: outcome in the journal, terminal status, history, the request
 * archived, journal cleared. Never throws: each record is tried even when an
 * earlier one failed, and a failure is logged.
 */
export async function finish(
  job: Job,
  outcome: Outcome,
  options: FinishOptions = {},
): Promise<Outcome> {
  const { host, journal } = job;
  const attempt = async (what: string, effect: () => Promise<unknown>) => {
    try {
      await effect();
    } catch (err) {
      host.log.error(`cannot ${what}: ${errorMessage(err)}`);
    }
  };
  if (!options.keepJournal) {
    // Recorded first: a crash from here on only redoes this bookkeeping, never the work.
    await attempt(
      "record the outcome in the journal",
      () => saveJournal(job, { ...journal, phase: "finishing", outcome }),
    );
  }
  await writeUiStatus(job, {
    status: succeeded(outcome.result) ? "completed" : "failed",
    step: outcome.step,
    message: outcome.message,
    rolledBack: outcome.result === "rolled-back",
  });
  const now = host.clock.now();
  await attempt("write history", () =>
    appendHistory(
      host.config.stateDir,
      entryFromJournal(journal, {
        result: outcome.result,
        message: outcome.message,
        finishedAt: now,
        durationMs: Math.round(host.clock.monotonic() - job.startedMono),
      }),
    ));
  if (journal.requestText !== null || options.archiveAny) {
    await attempt("archive the upgrade request", async () => {
      const archived = await archiveRequest({
        dataDir: host.config.dataDir,
        stateDir: host.config.stateDir,
        outcome: outcome.result,
        expectText: options.archiveAny ? undefined : journal.requestText ?? undefined,
        now,
      });
      if (archived.kind === "archived") host.log.info(`request archived as ${archived.path}`);
      if (archived.kind === "moved-aside") {
        host.log.warn(`the request was ${archived.what}; moved aside, unread, to ${archived.path}`);
      }
      if (archived.kind === "kept-aside") {
        host.log.error(
          `the request could not be archived (${archived.reason}); it is kept, renamed, at ` +
            `${archived.path} and archived by the next run`,
        );
      }
      if (archived.kind === "replaced") {
        host.log.info(
          "the request was rewritten during the job; the new one is left for the next run",
        );
      }
    });
  }
  if (!options.keepJournal) {
    await attempt("clear the journal", () => clearJournal(host.config.stateDir));
  }
  const log = succeeded(outcome.result) ? host.log.info : host.log.error;
  log(`${journal.kind} ${outcome.result}: ${outcome.message}`);
  return outcome;
}

/**
 * Runs a job's body and records how it ended. The body returns an outcome it
 * has not recorded yet; whatever it throws becomes `onError`'s outcome (which
 * may itself act, e.g. roll back, and must not throw). Either way `finish`
 * records it: the one place a job's end is written.
 */
export async function settle(
  job: Job,
  body: () => Promise<Outcome>,
  onError: (reason: string) => Promise<Outcome>,
  options: FinishOptions = {},
): Promise<Outcome> {
  let outcome: Outcome;
  try {
    outcome = await body();
  } catch (err) {
    const reason = job.signal.aborted ? "interrupted by a signal" : errorMessage(err);
    try {
      outcome = await onError(reason);
    } catch (err2) {
      outcome = {
        result: "failed",
        message: `${job.journal.kind} failed: ${reason}; then: ${errorMessage(err2)}`,
        step: currentStep(job),
      };
    }
  }
  return await finish(job, outcome, options);
}

/** How long each phase this run entered took, in milliseconds (to the next phase, or to now). */
export function phaseTimings(job: Job): Partial<Record<Phase, number>> {
  const entered = Object.entries(job.entered ?? {}) as [Phase, number][];
  entered.sort((a, b) => a[1] - b[1]);
  const now = job.host.clock.monotonic();
  return Object.fromEntries(
    entered.map(([phase, at], i) => [phase, Math.round((entered[i + 1]?.[1] ?? now) - at)]),
  );
}

/** A new job id (time-ordered). */
export function newJobId(now: Date): string {
  return `${now.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z")}-${
    crypto.randomUUID().slice(0, 6)
  }`;
}

/** A journal for a job with no plan yet: nothing known of what runs or what comes. */
export function blankJournal(
  now: Date,
  fields: Pick<Journal, "kind" | "trigger" | "requestText">,
): Journal {
  const none = () => ({ version: null, imageId: null });
  return {
    id: newJobId(now),
    ...fields,
    startedAt: now.toISOString(),
    attempts: 1,
    phase: "planned",
    from: { backend: none(), frontend: none() },
    to: { backend: none(), frontend: none() },
    backup: null,
    failure: null,
  };
}

/** A job that starts now. */
export function newJob(host: Host, journal: Journal, signal: AbortSignal): Job {
  return { host, journal, signal, startedMono: host.clock.monotonic() };
}

/** The outcome of a job that ended before step 1. */
export function notStarted(
  result: Outcome["result"],
  message: string,
  cause?: Outcome["cause"],
): Outcome {
  return { result, message, step: NOT_STARTED, ...(cause ? { cause } : {}) };
}
