/**
 * The signals that stop a job at its next safe point, in one list: SIGTERM (systemd stopping
 * the service), SIGINT (an operator's Ctrl-C) and SIGHUP (a dropped SSH session, of a fleet
 * play or an operator: it must not kill the job mid-swap).
 */

/** The stop signals. */
export const STOP_SIGNALS = ["SIGTERM", "SIGINT", "SIGHUP"] as const;

/** Calls `onStop` on any stop signal until the returned value is disposed (`using`). */
export function onStopSignals(onStop: () => void): Disposable {
  for (const signal of STOP_SIGNALS) Deno.addSignalListener(signal, onStop);
  return {
    [Symbol.dispose]() {
      for (const signal of STOP_SIGNALS) Deno.removeSignalListener(signal, onStop);
    },
  };
}
