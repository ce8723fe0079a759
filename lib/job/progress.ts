/**
 * Progress, in one table: the journal's phases in order, the UI step each phase
 * is shown under, and the five step labels the app's UI knows. The status file,
 * the upgrade's `--help`, its dry run and the README's step list are all
 * rendered from here (tests/upgrade/progress_test.ts holds the README to it).
 */

/** The UI's steps 1–5, in order: the key the code uses, the app's label, what the tool does there. */
export const STEPS = [
  {
    key: "backup",
    label: "Backing up data",
    does: "back up network.db (SQLite snapshot, integrity-checked, into <stateDir>/backups)",
  },
  { key: "pull-backend", label: "Pulling backend container", does: "pull <backend image>:vX.Y.Z" },
  {
    key: "pull-frontend",
    label: "Pulling frontend container",
    does: "pull <frontend image>:vX.Y.Z",
  },
  {
    key: "restart",
    label: "Restarting services",
    does: "canary (the new backend beside the live one, on a loopback port, must report " +
      "healthy with the new version; if not, nothing live is touched), then point " +
      "<image>:<runTag> at the pulled images, restart backend then frontend, check each " +
      "container runs the pulled image ID",
  },
  {
    key: "health",
    label: "Running health check",
    does: "backend healthy/degraded with the new version, frontend answers; on failure the " +
      "exact previous images are put back and verified",
  },
] as const;

/** A UI step, by key. */
export type StepKey = (typeof STEPS)[number]["key"];

/** The app's labels for steps 1–5, in order. */
export const STEP_LABELS: readonly string[] = STEPS.map((s) => s.label);

/** Step 0: the job ended before step 1 (a refused request, a blocked run). */
export const NOT_STARTED = 0;

/** The UI step number (1–5) of a step key. */
export function stepNumber(key: StepKey): number {
  return STEPS.findIndex((s) => s.key === key) + 1;
}

/**
 * Phases in order. Everything before `swapping` leaves the live host untouched;
 * `swapping` and later mean the units may run the new images.
 */
export const PHASES = [
  "planned",
  "backed-up",
  "pulled",
  "canary-passed",
  "swapping",
  "verifying",
  "rolling-back",
  "finishing",
] as const;

/** One phase. */
export type Phase = (typeof PHASES)[number];

/** The UI step a job in each phase is shown under (a failure there is reported under it). */
export const PHASE_STEP: Readonly<Record<Phase, StepKey>> = {
  planned: "backup",
  "backed-up": "pull-backend",
  pulled: "restart",
  "canary-passed": "restart",
  swapping: "restart",
  verifying: "health",
  "rolling-back": "health",
  finishing: "health",
};

/** True when the live units may already run something else than the job's `from`. */
export function liveTouched(phase: Phase): boolean {
  return PHASES.indexOf(phase) >= PHASES.indexOf("swapping");
}

/** The numbered step lines for help texts: `  1 back up network.db …`. */
export function stepLines(indent = "  "): string[] {
  return STEPS.map((s, i) => `${indent}${i + 1} ${s.label}: ${s.does}`);
}
