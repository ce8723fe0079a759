/**
 * What `install` and `uninstall` ask systemd to do, through a runner so tests
 * can record it: reload only when a unit file changed, enable and start the
 * path unit, enable the boot-time recovery, start the container units without
 * waiting (a first pull can take minutes), restart the path unit when it
 * changed; on uninstall, disable and stop (the path unit first) and reload.
 */
import { runChecked, type Runner, Systemd } from "../host/mod.ts";
import { UNIT } from "./units.ts";

/** What changed and what to enable, decided by `install`. */
export interface ActivationPlan {
  /** A unit file was created or updated. */
  unitsChanged: boolean;
  /** Units to enable and start now. */
  enableNow: string[];
  /** Units to enable only (they run at boot). */
  enableBoot: string[];
  /** Unit files that were updated (not created). */
  updated: string[];
}

/** The outcome: the systemctl calls made, and units that need a restart by the operator. */
export interface ActivationResult {
  /** `systemctl` argument lists, in order, without the program. */
  calls: string[][];
  /** Updated container units left running with their old definition. */
  restartNeeded: string[];
}

/** Applies an install to systemd through `runner` (`systemctl` = the program). */
export async function activateUnits(
  runner: Runner,
  systemctl: string,
  plan: ActivationPlan,
): Promise<ActivationResult> {
  // The Systemd adapter has no plain `enable` or `--no-block`; those go through the runner.
  const systemd = new Systemd(runner, systemctl);
  const calls: string[][] = [];
  const raw = async (args: string[]) => {
    await runChecked(runner, [systemctl, ...args], { timeoutMs: 120_000 });
  };
  if (plan.unitsChanged) {
    calls.push(["daemon-reload"]);
    await systemd.daemonReload();
  }
  const pathNow = plan.enableNow.filter((u) => u === UNIT.path);
  const containersNow = plan.enableNow.filter((u) => u !== UNIT.path);
  if (pathNow.length) {
    calls.push(["enable", "--now", ...pathNow]);
    await systemd.enableNow(pathNow);
  }
  if (plan.enableBoot.length) {
    calls.push(["enable", ...plan.enableBoot]);
    await raw(["enable", ...plan.enableBoot]);
  }
  if (containersNow.length) {
    calls.push(["enable", "--now", "--no-block", ...containersNow]);
    await raw(["enable", "--now", "--no-block", ...containersNow]);
  }
  if (plan.updated.includes(UNIT.path)) {
    calls.push(["restart", UNIT.path]);
    await systemd.restart([UNIT.path], 30_000);
  }
  return { calls, restartNeeded: plan.updated.filter((u) => containersNow.includes(u)) };
}

/**
 * Undoes an install in systemd: `disable --now` the enabled units (the path
 * unit first, so no upgrade starts meanwhile; absent units are not an error),
 * and returns the calls made. Call `reloadAfterRemoval` once the files are gone.
 */
export async function deactivateUnits(
  runner: Runner,
  systemctl: string,
  enabled: string[],
): Promise<string[][]> {
  if (enabled.length === 0) return [];
  const ordered = [...enabled].sort((a, b) => Number(b === UNIT.path) - Number(a === UNIT.path));
  await new Systemd(runner, systemctl).disableNow(ordered);
  const args = ["disable", "--now", ...ordered];
  return [args];
}

/** `systemctl daemon-reload` after unit files were removed. */
export async function reloadAfterRemoval(runner: Runner, systemctl: string): Promise<string[][]> {
  await new Systemd(runner, systemctl).daemonReload();
  return [["daemon-reload"]];
}
