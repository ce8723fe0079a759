/**
 * The clock adapter: wall time, a monotonic timer and sleeps, so that tests
 * can replace time and commands never call `Date.now()` directly.
 */

/** Time source used by every command. */
export interface Clock {
  /** Wall-clock time (for timestamps written to files). */
  now(): Date;
  /** Monotonic milliseconds (for durations and deadlines). */
  monotonic(): number;
  /** Resolves after `ms`, or rejects with the signal's reason when aborted. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** The real clock. */
export const systemClock: Clock = {
  now: () => new Date(),
  monotonic: () => performance.now(),
  sleep: (ms, signal) =>
    new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal?.reason);
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      }, Math.max(0, ms));
      signal?.addEventListener("abort", onAbort, { once: true });
    }),
};

/** UTC ISO-8601 with a `Z` suffix, as the app's files use. */
export function isoUtc(date: Date): string {
  return date.toISOString();
}
