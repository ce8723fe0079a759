/**
 * Upgrade runs that end without upgrading: a refused request, a journal that
 * needs an operator, a status left `running` by a run that died before its
 * journal. Each still leaves a terminal status, a history entry and no request
 * that could make the `.path` unit loop.
 */
import { EXIT } from "../core/exit_codes.ts";
import type { Host } from "../host/host.ts";
import { finish, type Job, newJobId } from "../job/job.ts";
import { type Journal, journalPath } from "../job/journal.ts";
import { livePair, readLive } from "../release/live.ts";
import { readStatus } from "../job/status_file.ts";
import { end } from "./steps.ts";

/**
 * The job cannot go on without an operator: a terminal status that says what to
 * do, the pending request archived (so the .path unit cannot loop), exit 7.
 */
export async function blocked(
  host: Host,
  options: { message: string; keepJournal: boolean },
): Promise<number> {
  const job = bareJob(host, null);
  await finish(job, {
    result: "failed",
    message: options.message,
    step: 0,
    archiveAny: true,
    keepJournal: options.keepJournal,
  });
  return EXIT.ROLLBACK_FAILED;
}

/** Moves an unreadable journal aside (never deleted); returns where it went. */
export async function moveJournalAside(host: Host): Promise<string> {
  const from = journalPath(host.config.stateDir);
  const to = `${from}.unreadable-${host.clock.now().toISOString().replace(/[:.]/g, "-")}`;
  await Deno.rename(from, to);
  return to;
}

/** A status left `running` with no journal (killed before the first phase): make it terminal. */
export async function settleStaleStatus(host: Host): Promise<void> {
  const status = await readStatus(host.config.dataDir);
  if (status?.status !== "running") return;
  const job = bareJob(host, null);
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

/** Refuses a bad request: terminal status naming the file and field, request archived, exit 4. */
export async function refuse(
  host: Host,
  options: { message: string; requestText: string | null; archiveAny: boolean },
): Promise<number> {
  const job = bareJob(host, options.requestText);
  job.journal.from = await readLive(host).then(livePair, () => job.journal.from);
  return await end(job, {
    result: "refused",
    message: `Upgrade request refused: ${options.message}`,
    step: 0,
    archiveAny: options.archiveAny,
  });
}

/** A job with no plan yet (a refusal, a blocked run, a stale status), never interrupted. */
function bareJob(host: Host, requestText: string | null): Job {
  return {
    host,
    journal: emptyJournal(host, requestText),
    signal: new AbortController().signal,
    startedMono: host.clock.monotonic(),
  };
}

/** A journal for a job that has no plan yet (a refusal, a blocked run). */
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
