/**
 * Upgrade runs that end without upgrading: a journal that needs an operator, a
 * status left `running` by a run that died before its journal. Each still
 * leaves a terminal status, a history entry and no request that could make the
 * `.path` unit loop.
 */
import { parseAppVersion } from "../core/mod.ts";
import type { Host } from "../host/mod.ts";
import {
  blankJournal,
  finish,
  journalPath,
  newJob,
  notStarted,
  type Outcome,
  readStatus,
} from "../job/mod.ts";

/** A job that is never interrupted (its end is only bookkeeping). */
const NEVER = new AbortController().signal;

/**
 * The job cannot go on without an operator: a terminal status that says what to
 * do, the pending request archived (so the .path unit cannot loop), exit 7.
 */
export async function blocked(
  host: Host,
  options: { message: string; keepJournal: boolean },
): Promise<Outcome> {
  const journal = blankJournal(host.clock.now(), {
    kind: "upgrade",
    trigger: "request",
    requestText: null,
  });
  return await finish(
    newJob(host, journal, NEVER),
    notStarted("failed", options.message, "needs-operator"),
    { archiveAny: true, keepJournal: options.keepJournal },
  );
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
  const journal = blankJournal(host.clock.now(), {
    kind: "upgrade",
    trigger: "recovery",
    requestText: null,
  });
  // The status file is container-writable: only a valid version goes into root's records.
  const version = (v: unknown) => typeof v === "string" ? parseAppVersion(v) : null;
  journal.from.backend.version = version(status.from_version);
  journal.to.backend.version = version(status.to_version);
  const step = typeof status.step === "number" ? status.step : 0;
  await finish(newJob(host, journal, NEVER), {
    result: "failed",
    message: "The previous upgrade was interrupted before it changed anything.",
    step,
  });
}
