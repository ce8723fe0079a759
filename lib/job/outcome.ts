/**
 * How a job ends, as a tagged value, and the exit code each ending means: the
 * one place where outcomes become exit codes. The outcome is recorded in the
 * journal before the terminal status, so a resumed job ends with the same code.
 */
import { z } from "zod";
import { EXIT, type ExitCode } from "../core/mod.ts";

/** How a job can end (also the history's `result`). */
export const RESULTS = [
  "completed",
  "noop",
  "rolled-back",
  "rollback-failed",
  "failed",
  "refused",
] as const;

/** One result. */
export type JobResult = (typeof RESULTS)[number];

/**
 * Why, where the result alone does not say which exit code it is: a refusal by
 * the canary (not a bad request), a failure that needs an operator (a journal
 * that cannot be trusted, an interrupted rollback).
 */
export const CAUSES = ["canary", "needs-operator"] as const;

/** The recorded end of a job. */
export const outcomeSchema = z.object({
  result: z.enum(RESULTS),
  message: z.string(),
  /** The UI step it is reported under (0: not started). */
  step: z.number().int().min(0).max(5),
  cause: z.enum(CAUSES).optional(),
});

/** The end of a job. */
export type Outcome = z.infer<typeof outcomeSchema>;

/** The exit code of an outcome; null is a run with no job (nothing requested, a dry run). */
export function exitFor(outcome: Pick<Outcome, "result" | "cause"> | null): ExitCode {
  if (outcome === null) return EXIT.OK;
  switch (outcome.result) {
    case "completed":
    case "noop":
      return EXIT.OK;
    case "rolled-back":
      return EXIT.ROLLED_BACK;
    case "rollback-failed":
      return EXIT.ROLLBACK_FAILED;
    case "failed":
      return outcome.cause === "needs-operator" ? EXIT.ROLLBACK_FAILED : EXIT.FAILURE;
    case "refused":
      return outcome.cause === "canary" ? EXIT.CANARY_REFUSED : EXIT.BAD_INPUT;
  }
}

/** True for the results the UI shows as `completed`. */
export function succeeded(result: JobResult): boolean {
  return result === "completed" || result === "noop";
}
