/**
 * The health poller: polls one or more URLs until every one passes (HTTP status,
 * JSON fields, the backend's version) for N consecutive rounds, or a deadline.
 * The interval starts small and backs off to the configured one, and drops back
 * to small whenever the answer changes, so readiness is seen soon after it happens.
 * `judgeResponse` is pure; `pollHealth` does the waiting through the adapters.
 */
import { z } from "zod";
import { type Clock, HttpFailure, type HttpGet } from "../host/mod.ts";

/** The Graphēon health body (contract); extra fields are kept. */
export const healthBodySchema = z.looseObject({
  status: z.string(),
  app: z.string().optional(),
  version: z.string().optional(),
  uptime_seconds: z.number().optional(),
  checks: z.array(z.looseObject({ name: z.string(), status: z.string() })).optional(),
  timestamp: z.string().optional(),
});

/** What counts as healthy. */
export interface HealthExpectation {
  /** Accepted HTTP status codes. */
  httpStatuses: number[];
  /** JSON fields and their accepted values; `status` defaults to the config's acceptStatus. */
  json: Record<string, string[]>;
  /** The backend version the body must report, if any. */
  version?: string;
}

/** The verdict on one answer. */
export interface Verdict {
  /** Passed every expectation. */
  ok: boolean;
  /** Why not, in words (`status 503`, `body status=unhealthy`, `version 0.10.3 ≠ 0.10.4`). */
  reason?: string;
  /** HTTP status, when there was an answer. */
  httpStatus?: number;
  /** The body's `status`, when JSON. */
  bodyStatus?: string;
  /** The body's `version`, when JSON. */
  version?: string;
}

function field(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const key of path.split(".")) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

/** Judges one HTTP answer against the expectation (pure). */
export function judgeResponse(
  response: { status: number; body: string },
  expect: HealthExpectation,
): Verdict {
  let body: unknown = undefined;
  try {
    body = JSON.parse(response.body);
  } catch { /* not JSON: only the HTTP status can be judged */ }
  const parsed = healthBodySchema.safeParse(body);
  const verdict: Verdict = {
    ok: false,
    httpStatus: response.status,
    bodyStatus: parsed.success ? parsed.data.status : undefined,
    version: parsed.success ? parsed.data.version : undefined,
  };
  if (!expect.httpStatuses.includes(response.status)) {
    const said = verdict.bodyStatus ? ` (body status=${verdict.bodyStatus})` : "";
    return { ...verdict, reason: `status ${response.status}${said}` };
  }
  for (const [path, accepted] of Object.entries(expect.json)) {
    const value = field(body, path);
    if (value === undefined) {
      if (path === "status" && body === undefined) continue; // non-JSON endpoint, e.g. the frontend
      return { ...verdict, reason: `body has no ${path}` };
    }
    if (!accepted.includes(String(value))) {
      return { ...verdict, reason: `body ${path}=${String(value)}` };
    }
  }
  if (expect.version !== undefined) {
    if (verdict.version === undefined) return { ...verdict, reason: "body has no version" };
    if (verdict.version.replace(/^v/, "") !== expect.version.replace(/^v/, "")) {
      return { ...verdict, reason: `version ${verdict.version} ≠ ${expect.version}` };
    }
  }
  return { ...verdict, ok: true };
}

/** One probe of one URL. */
export interface Attempt extends Verdict {
  /** Round number, from 1. */
  round: number;
  /** The URL probed. */
  url: string;
  /** Milliseconds since polling began, when the probe started. */
  atMs: number;
  /** How long the probe took. */
  durationMs: number;
}

/** Options for `pollHealth`. */
export interface PollOptions {
  /** URLs that must all pass. */
  urls: string[];
  /** Per-URL expectations (same for all when one is given). */
  expect: HealthExpectation | HealthExpectation[];
  /** Overall deadline. */
  timeoutMs: number;
  /** Largest pause between rounds. */
  intervalMs: number;
  /** Smallest pause between rounds (default 10 ms). */
  minIntervalMs?: number;
  /** Per-request timeout. */
  requestTimeoutMs: number;
  /** Passing rounds needed in a row. */
  consecutive: number;
  /** Failures in this first period are expected and logged quietly, and never fail fast. */
  startPeriodMs: number;
  /**
   * Rounds in a row, after the start period, in which a URL answered but not healthily (a
   * 503, `status: unhealthy`, a wrong version) that end polling at once as unhealthy.
   * Silence (refused, timeout) never counts: a booting backend keeps the whole deadline.
   * Absent: only the deadline ends polling.
   */
  unhealthyThreshold?: number;
  /** Exactly one round. */
  once: boolean;
  /** HTTP adapter. */
  http: HttpGet;
  /** Clock adapter. */
  clock: Clock;
  /** Stops polling early. */
  signal?: AbortSignal;
  /** Called after each probe (logging). */
  onAttempt?: (attempt: Attempt, inStartPeriod: boolean) => void;
}

/** The outcome of polling. */
export interface PollResult {
  /** Every URL passed `consecutive` rounds in a row before the deadline. */
  healthy: boolean;
  /** Milliseconds from start to the verdict. */
  elapsedMs: number;
  /** Rounds run. */
  rounds: number;
  /** Every probe. */
  attempts: Attempt[];
  /** The reason of the last failed probe, if any. */
  lastReason?: string;
  /** Ended early by `unhealthyThreshold` answers in a row that were not healthy. */
  unhealthyRun?: number;
}

/** Counts rounds in a row that answered unhealthily after the start period (pure). */
export function nextUnhealthyRun(
  run: number,
  round: { verdicts: Verdict[]; inStartPeriod: boolean },
): number {
  if (round.inStartPeriod) return 0;
  const answeredBadly = round.verdicts.some((v) => !v.ok && v.httpStatus !== undefined);
  return answeredBadly ? run + 1 : 0;
}

async function probe(
  url: string,
  expect: HealthExpectation,
  options: PollOptions,
): Promise<Verdict> {
  try {
    const res = await options.http(url, {
      timeoutMs: options.requestTimeoutMs,
      signal: options.signal,
    });
    return judgeResponse(res, expect);
  } catch (err) {
    if (err instanceof HttpFailure) {
      const reason = err.kind === "timeout"
        ? `timeout after ${options.requestTimeoutMs} ms`
        : err.message;
      return { ok: false, reason };
    }
    throw err;
  }
}

/** Polls until healthy, the deadline, or the signal. */
export async function pollHealth(options: PollOptions): Promise<PollResult> {
  const { clock } = options;
  const start = clock.monotonic();
  const minInterval = Math.min(options.minIntervalMs ?? 10, options.intervalMs);
  const expects = options.urls.map((_, i) =>
    Array.isArray(options.expect) ? options.expect[i] ?? options.expect[0] : options.expect
  );
  const attempts: Attempt[] = [];
  let interval = minInterval;
  let streak = 0;
  let round = 0;
  let lastSignature = "";
  let lastReason: string | undefined;
  let unhealthyRun = 0;
  while (true) {
    round++;
    const roundStart = clock.monotonic();
    const verdicts = await Promise.all(options.urls.map(async (url, i) => {
      const t0 = clock.monotonic();
      const v = await probe(url, expects[i], options);
      const attempt: Attempt = {
        ...v,
        round,
        url,
        atMs: Math.round(t0 - start),
        durationMs: Math.round(clock.monotonic() - t0),
      };
      attempts.push(attempt);
      options.onAttempt?.(attempt, roundStart - start < options.startPeriodMs);
      return v;
    }));
    const failed = verdicts.find((v) => !v.ok);
    const elapsed = () => Math.round(clock.monotonic() - start);
    if (!failed) {
      streak++;
      if (streak >= options.consecutive) {
        return { healthy: true, elapsedMs: elapsed(), rounds: round, attempts, lastReason };
      }
    } else {
      streak = 0;
      lastReason = failed.reason;
    }
    unhealthyRun = nextUnhealthyRun(unhealthyRun, {
      verdicts,
      inStartPeriod: roundStart - start < options.startPeriodMs,
    });
    if (options.unhealthyThreshold !== undefined && unhealthyRun >= options.unhealthyThreshold) {
      const bad = verdicts.find((v) => !v.ok && v.httpStatus !== undefined)!;
      return {
        healthy: false,
        elapsedMs: elapsed(),
        rounds: round,
        attempts,
        lastReason: `${unhealthyRun} unhealthy answers in a row: ${bad.reason}`,
        unhealthyRun,
      };
    }
    const signature = verdicts.map((v) => v.reason ?? "ok").join("|");
    interval = signature === lastSignature
      ? Math.min(interval * 2, options.intervalMs)
      : minInterval;
    lastSignature = signature;
    const remaining = options.timeoutMs - (clock.monotonic() - start);
    if (options.once || remaining <= 0 || options.signal?.aborted) {
      return { healthy: false, elapsedMs: elapsed(), rounds: round, attempts, lastReason };
    }
    await clock.sleep(Math.min(interval, remaining), options.signal).catch(() => {});
  }
}
