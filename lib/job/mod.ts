/** The public face of lib/job: what the rest of the tool uses of it. */
export { appendHistory, entryFromJournal, type HistoryEntry, readHistory } from "./history.ts";
export {
  advance,
  blankJournal,
  currentStep,
  finish,
  type Job,
  newJob,
  notStarted,
  phaseTimings,
  saveJournal,
  settle,
  showStep,
} from "./job.ts";
export {
  type Journal,
  journalPath,
  pairSchema,
  readJournal,
  type Release,
  type ReleasePair,
} from "./journal.ts";
export { acquireLock } from "./lock.ts";
export { lockHeld } from "./lock_probe.ts";
export { exitFor, type Outcome } from "./outcome.ts";
export { liveTouched, stepLines, stepNumber, STEPS } from "./progress.ts";
export {
  archiveLeftovers,
  archiveRequest,
  parseRequest,
  readRequestText,
  requestPath,
  writeRequest,
} from "./request_file.ts";
export { readStatus, type StatusDoc, statusPath } from "./status_file.ts";
