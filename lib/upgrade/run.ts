/**
 * The upgrade, top to bottom: read the request, decide, then the ladder of
 * phases: back up, pull both, canary, swap, verify. A new job enters the ladder
 * at `planned`; a resumed one enters it at the phase its journal names. Before
 * the swap a failure touches nothing; after it, the exact previous images are
 * put back. Every way out is an outcome recorded by `settle`/`finish`
 * (lib/job/job.ts), which never throw: nothing escapes the bookkeeping.
 */
import { join } from "node:path";
import { errorMessage, InputError, ToolError } from "../core/mod.ts";
import type { Host } from "../host/mod.ts";
import {
  advance,
  archiveLeftovers,
  blankJournal,
  currentStep,
  finish,
  type Job,
  type Journal,
  liveTouched,
  newJob,
  notStarted,
  type Outcome,
  parseRequest,
  readJournal,
  readRequestText,
  saveJournal,
  settle,
  stepNumber,
} from "../job/mod.ts";
import { cleanupCanary, livePair, readLive } from "../release/mod.ts";
import { canaryPolicy } from "./canary_policy.ts";
import { blocked, moveJournalAside, settleStaleStatus } from "./ends.ts";
import type { Target } from "./plan.ts";
import {
  backUp,
  canary,
  checkpoint,
  decide,
  pruneAfter,
  pullBoth,
  rollBack,
  sameImages,
  socketServer,
  swap,
  verify,
  versions,
} from "./steps.ts";

/** What an upgrade run is asked to do. */
export interface UpgradeRun {
  /** The target from the flags, or null to read the app's request. */
  target: Target | null;
  /** Allow a lower version than the one running. */
  allowDowngrade: boolean;
  /** The canary may run (false: --no-canary). */
  canary: boolean;
  /** Only finish an interrupted job. */
  recover: boolean;
  /** Aborted by SIGTERM/SIGINT. */
  signal: AbortSignal;
}

/** How a run ended: the outcome and the job it recorded (null: nothing to do, nothing recorded). */
export interface UpgradeReport {
  /** The outcome, or null. */
  outcome: Outcome | null;
  /** The job, when one ran. */
  job: Job | null;
}

/** Runs the upgrade and says how it ended, with the job for reports (`upgrade --json`). */
export async function upgradeReport(host: Host, run: UpgradeRun): Promise<UpgradeReport> {
  let last: Job | null = null;
  const outcome = await upgrade(host, run, (job) => (last = job));
  return { outcome, job: last };
}

/** Runs the upgrade: resumes an interrupted job first. Null when there was nothing to do. */
export async function upgrade(
  host: Host,
  run: UpgradeRun,
  onJob: (job: Job) => void = () => {},
): Promise<Outcome | null> {
  await archiveLeftovers(host.config.dataDir, host.config.stateDir).then(
    (paths) => paths.forEach((p) => host.log.info(`an earlier request archived as ${p}`)),
    (err) => host.log.warn(`cannot archive earlier requests: ${errorMessage(err)}`),
  );
  const existing = await readJournal(host.config.stateDir);
  if (existing && "corrupt" in existing) {
    const aside = await moveJournalAside(host).catch((err) => `(not moved: ${errorMessage(err)})`);
    return await blocked(host, {
      message:
        `The upgrade journal was unreadable (${existing.corrupt}); it was moved to ${aside}. ` +
        `What runs is unknown to the tool: check 'grapheon-tool status' before upgrading again.`,
      keepJournal: false,
    });
  }
  if (existing?.kind === "rollback") {
    return await blocked(host, {
      message:
        `An interrupted rollback (job ${existing.id}, to ${versions(existing.to)}) must be ` +
        `finished first: run 'grapheon-tool rollback' (it may restore data, which an upgrade cannot).`,
      keepJournal: true,
    });
  }
  if (existing) return await resume(host, existing, run, onJob);
  await settleStaleStatus(host);
  if (run.recover) {
    host.log.info("no interrupted upgrade to recover");
    return null;
  }
  return await start(host, run, onJob);
}

/** A new job: the request (or flags), the decision, then the ladder from `planned`. */
async function start(
  host: Host,
  run: UpgradeRun,
  onJob: (job: Job) => void,
): Promise<Outcome | null> {
  const trigger = run.target ? "operator" : "request";
  const job = newJob(
    host,
    blankJournal(host.clock.now(), { kind: "upgrade", trigger, requestText: null }),
    run.signal,
  );
  const { journal } = job;
  onJob(job);
  let target = run.target;
  if (!target) {
    const requestPath = join(host.config.dataDir, "upgrade-requested");
    try {
      const text = await readRequestText(host.config.dataDir);
      if (text === null) {
        host.log.info("no upgrade requested");
        return null;
      }
      journal.requestText = text;
      target = parseRequest(text, requestPath);
    } catch (err) {
      // Refused or unreadable, the request is handled: archived, so the .path unit cannot loop.
      journal.from = await readLive(host).then(livePair, () => journal.from);
      const outcome = err instanceof InputError
        ? notStarted("refused", `Upgrade request refused: ${errorMessage(err)}`)
        : notStarted("failed", `The upgrade request could not be read: ${errorMessage(err)}`);
      return await finish(job, outcome, { archiveAny: true });
    }
  }
  const wanted = target;
  journal.to = {
    backend: { version: wanted.backend, imageId: null },
    frontend: { version: wanted.frontend, imageId: null },
  };
  const outcome = await settle(job, async () => {
    const { from, decision } = await decide(host, {
      target: wanted,
      allowDowngrade: run.allowDowngrade,
    });
    journal.from = from;
    if (decision.kind === "refuse-downgrade") return notStarted("refused", decision.reason);
    if (decision.kind === "noop") {
      return { result: "noop", message: decision.reason, step: stepNumber("health") };
    }
    host.log.info(
      `upgrade ${journal.id}: backend ${from.backend.version ?? "?"} → ${wanted.backend}, ` +
        `frontend ${from.frontend.version ?? "?"} → ${wanted.frontend}`,
    );
    await advance(job, "planned");
    return await ladder(job, run);
  }, (reason) => onFailure(job, reason));
  if (outcome.result === "completed") await pruneAfter(host, journal);
  return outcome;
}

/** An interrupted job: its recorded outcome, a last rollback past the attempt cap, or the ladder again. */
async function resume(
  host: Host,
  journal: Journal,
  run: UpgradeRun,
  onJob: (job: Job) => void,
): Promise<Outcome> {
  const job: Job = { ...newJob(host, journal, run.signal), resumed: true };
  onJob(job);
  journal.attempts++;
  // Killed while recording its end: only the records are redone, whatever the attempt count.
  if (journal.phase === "finishing" && journal.outcome) {
    host.log.warn(`finishing the records of interrupted ${journal.kind} ${journal.id}`);
    return await finish(job, journal.outcome);
  }
  const outcome = await settle(job, async () => {
    if (journal.attempts > host.config.maxAttempts) return await giveUp(job);
    await saveJournal(job);
    await cleanupCanary(host);
    host.log.warn(
      `resuming interrupted ${journal.kind} ${journal.id} at phase ${journal.phase} (attempt ${journal.attempts})`,
    );
    if (journal.phase === "rolling-back") {
      return await rollBack(job, journal.failure ?? "interrupted");
    }
    return await ladder(job, run);
  }, (reason) => onFailure(job, reason));
  if (outcome.result === "completed") await pruneAfter(host, journal);
  return outcome;
}

/** The phases, from wherever the journal says the job is. Returns the outcome, or throws. */
async function ladder(job: Job, run: UpgradeRun): Promise<Outcome> {
  const { journal } = job;
  if (journal.phase === "planned") {
    await backUp(job);
    await advance(job, "backed-up");
  }
  if (journal.phase === "backed-up") {
    await pullBoth(job);
    if (sameImages(journal)) {
      return {
        result: "noop",
        message: "the requested images are the ones already running",
        step: stepNumber("health"),
      };
    }
    await advance(job, "pulled");
  }
  if (journal.phase === "pulled") {
    const unfit = await socketServer(job);
    if (unfit !== null) {
      return {
        result: "refused",
        cause: "canary",
        message: `Upgrade to ${versions(journal.to)} refused: the new backend ${unfit}. ` +
          `Nothing live was touched; still running ${versions(journal.from)}.`,
        step: stepNumber("restart"),
      };
    }
    const policy = canaryPolicy(job.host, run.canary);
    if (policy.run) {
      const refusal = await canary(job);
      if (refusal !== null) {
        return {
          result: "refused",
          cause: "canary",
          message:
            `Upgrade to ${versions(journal.to)} refused: the new backend failed its canary ` +
            `(${refusal}). Nothing live was touched; still running ${versions(journal.from)}.`,
          step: stepNumber("restart"),
        };
      }
    } else job.host.log.warn(`canary skipped: ${policy.reason}`);
    await advance(job, "canary-passed");
  }
  if (journal.phase === "canary-passed") {
    checkpoint(job);
    await advance(job, "swapping");
  }
  if (journal.phase !== "swapping" && journal.phase !== "verifying") {
    throw new ToolError(`the journal's phase ${journal.phase} cannot be resumed`);
  }
  await swap(job);
  await advance(job, "verifying");
  await verify(job);
  return {
    result: "completed",
    message: `Upgraded from ${versions(journal.from)} to ${versions(journal.to)}.`,
    step: stepNumber("health"),
  };
}

/** Past the attempt cap: give up before the swap, one last rollback after it. */
async function giveUp(job: Job): Promise<Outcome> {
  const { journal } = job;
  const times = `was interrupted ${journal.attempts - 1} times (last at phase ${journal.phase})`;
  if (!liveTouched(journal.phase)) {
    return {
      result: "failed",
      message: `Upgrade to ${versions(journal.to)} ${times}; giving up. Still running ${
        versions(journal.from)
      }.`,
      step: currentStep(job),
    };
  }
  if (journal.phase !== "rolling-back") {
    // Live units may run the new images: one last try at the known-good release.
    await saveJournal(job);
    return await rollBack(job, `the upgrade ${times}`);
  }
  return {
    result: "rollback-failed",
    message: `Rolling back from ${versions(journal.to)} to ${versions(journal.from)} ${times}; ` +
      `giving up. By hand: 'grapheon-tool status', then 'grapheon-tool rollback'.`,
    step: currentStep(job),
  };
}

/** What a failure means: nothing changed before the swap; after it, roll back. */
async function onFailure(job: Job, reason: string): Promise<Outcome> {
  const { journal } = job;
  if (journal.phase === "rolling-back") {
    return await rollBack(job, journal.failure ?? reason);
  }
  if (!liveTouched(journal.phase)) {
    return {
      result: "failed",
      message:
        `Upgrade to ${versions(journal.to)} failed before anything live changed: ${reason}. ` +
        `Still running ${versions(journal.from)}.`,
      step: currentStep(job),
    };
  }
  return await rollBack(job, job.resumed ? `interrupted during the swap, then: ${reason}` : reason);
}
