/**
 * Is a freshly (re)started container dead? Pure decisions over what systemd and
 * Podman report, so that a release that exits at start, or crash-loops under
 * `Restart=always`, fails the verify step or the canary at once instead of
 * holding the host until a deadline. Invariant: only a fact that proves the
 * process is gone (or was restarted by systemd) gives `dead`; anything still
 * starting, or an observation that could not be made, gives `wait`.
 *
 * Facts relied on (systemd 252 man pages: systemd.service(5), org.freedesktop.systemd1(5);
 * podman 4.3 `container inspect`):
 * - `ActiveState=failed`: the unit gave up (start failed, or the restart limit was hit).
 * - `SubState=auto-restart`: the main process exited and systemd waits `RestartSec=` to
 *   start it again (`Restart=always` in the published units).
 * - `NRestarts`: "increased each time the service is restarted due to Restart=" (systemd
 *   NEWS for v235); a rise after the tool's own restart is a crash loop.
 * - `MainPID`: the main process (`podman run`, which lives as long as its container). A
 *   new one after the tool's own restart means the first ended and the unit was started again,
 *   which a connection to the unit's socket does at once, without Restart= or NRestarts: a
 *   crash loop too.
 * - `ExecMainCode`/`ExecMainStatus`: how the last main process ended (1 = exited, with the
 *   exit status; 2/3 = killed/dumped, with the signal). `podman run` in the foreground
 *   exits with the container's exit code.
 * - podman `State.Status` is one of created, running, paused, exited, stopped, stopping,
 *   configured, initialized, removing; `State.ExitCode` is the container's exit code. A
 *   unit's container that exited by itself was seen as `stopped` in the lab (podman 4.3),
 *   the harness's as `exited`: both are reported as "exited".
 */
import type { UnitObservation } from "../host/systemd.ts";

/** What `podman container inspect` said of the container; null fields when it has none. */
export interface ContainerObservation {
  /** State.Status (`running`, `exited`, …). */
  status: string;
  /** State.Running. */
  running: boolean;
  /** State.ExitCode, meaningful once not running. */
  exitCode: number | null;
  /** Runs the image it should (false: still the old container, not yet replaced). */
  rightImage: boolean;
}

/** One look at a unit-run container; either part may be missing (not observable, no container). */
export interface LivenessObservation {
  /** The unit, or null when systemctl could not be asked. */
  unit: UnitObservation | null;
  /** The container, or null when there is none (between a crash and systemd's restart, `--rm`). */
  container: ContainerObservation | null;
}

/** The decision. */
export type Liveness =
  | { verdict: "wait" }
  | { verdict: "dead"; reason: string; exitCode: number | null };

/** Podman states after the process has ended. */
const ENDED = new Set(["exited", "stopped"]);

function exitText(code: number | null): string {
  return code === null ? "" : ` with code ${code}`;
}

/** How the unit's last main process ended, in words, and its exit code when it exited. */
function mainExit(u: UnitObservation): { text: string; exitCode: number | null } {
  if (u.execMainCode === 1) {
    return { text: `exited${exitText(u.execMainStatus)}`, exitCode: u.execMainStatus };
  }
  if ((u.execMainCode === 2 || u.execMainCode === 3) && u.execMainStatus !== null) {
    return { text: `was killed by signal ${u.execMainStatus}`, exitCode: null };
  }
  return { text: "exited", exitCode: null };
}

/**
 * Decides whether a container its unit was just (re)started for is dead.
 * `baselineRestarts`, `baselinePid`: NRestarts and MainPID read right after the tool's
 * own restart (null: unknown).
 */
export function judgeLiveness(
  observed: LivenessObservation,
  baselineRestarts: number | null,
  baselinePid: number | null = null,
): Liveness {
  const { unit: u, container: c } = observed;
  // The container itself is the most precise witness: its own exit code.
  if (c && c.rightImage && !c.running && ENDED.has(c.status)) {
    return {
      verdict: "dead",
      reason: `the container exited${exitText(c.exitCode)}`,
      exitCode: c.exitCode,
    };
  }
  if (!u) return { verdict: "wait" };
  if (u.activeState === "failed") {
    const how = mainExit(u);
    return {
      verdict: "dead",
      reason: `the unit failed (its container ${how.text})`,
      exitCode: how.exitCode,
    };
  }
  if (u.subState === "auto-restart") {
    const how = mainExit(u);
    return {
      verdict: "dead",
      reason: `the container ${how.text} and systemd is restarting it (crash loop)`,
      exitCode: how.exitCode,
    };
  }
  if (baselineRestarts !== null && u.nRestarts !== null && u.nRestarts > baselineRestarts) {
    const how = mainExit(u);
    return {
      verdict: "dead",
      reason: `the container ${how.text} and systemd restarted it ${
        u.nRestarts - baselineRestarts
      } time(s) (crash loop)`,
      exitCode: how.exitCode,
    };
  }
  if (baselinePid !== null && u.mainPid && u.mainPid !== baselinePid) {
    return {
      verdict: "dead",
      reason: "the container ended and its unit was started again (crash loop)",
      exitCode: null,
    };
  }
  if (u.activeState === "inactive") {
    return { verdict: "dead", reason: "the unit is inactive (stopped)", exitCode: null };
  }
  return { verdict: "wait" };
}

/** Decides on a container run without a unit (the canary): missing or ended is dead. */
export function judgeDetached(container: ContainerObservation | null): Liveness {
  if (!container) return { verdict: "dead", reason: "the container is gone", exitCode: null };
  if (!container.running && ENDED.has(container.status)) {
    return {
      verdict: "dead",
      reason: `the container exited${exitText(container.exitCode)}`,
      exitCode: container.exitCode,
    };
  }
  return { verdict: "wait" };
}
