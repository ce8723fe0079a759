/**
 * Oneshot units (grapheon-upgrade.service) in the systemctl double: a start
 * marks the unit `activating` and claims the run with a token; the claimer
 * runs the command outside the state lock (in the double itself, or in a
 * detached double for `--no-block`) and records how it ended. A start while a
 * run is claimed or running joins it: it waits for that run's result, as a
 * systemd start job merges with the running one.
 */
import { join } from "node:path";
import {
  type HarnessState,
  type PlainUnit,
  processAlive,
  procStat,
  readState,
  sleep,
  withState,
} from "./state.ts";
import { finishOneshot, startUnit } from "./units.ts";

/** One oneshot a start waits for: `token` set when this start owns the run. */
export interface OneshotRun {
  /** Unit name. */
  unit: string;
  /** The claim token, or null when joining a run someone else owns. */
  token: string | null;
}

/** How long a claim may wait for its runner to start before it counts as abandoned. */
const CLAIM_GRACE_MS = 10_000;

/** True while a run of `u` is claimed or running. */
export function runBusy(u: PlainUnit): boolean {
  if (u.runner) return processAlive(u.runner.pid, u.runner.start);
  return u.claim !== undefined && Date.now() - u.claim.at < CLAIM_GRACE_MS;
}

/** Under the lock: starts a run of oneshot `unit`, or joins the one in progress. */
export async function beginOneshot(
  s: HarnessState,
  unit: string,
  harnessDir: string,
): Promise<OneshotRun> {
  const u = s.units[unit] as PlainUnit;
  if (u.activeState === "activating" && runBusy(u)) return { unit, token: null };
  await startUnit(s, unit, harnessDir);
  const token = crypto.randomUUID();
  u.claim = { token, at: Date.now() };
  return { unit, token };
}

async function runClaimed(dir: string, unit: string, token: string): Promise<boolean> {
  const exec = await withState(dir, (s) => {
    const x = s.units[unit];
    if (x?.kind !== "plain" || !x.exec || x.claim?.token !== token) return null;
    x.runner = { pid: Deno.pid, start: procStat(Deno.pid)?.start ?? -1 };
    return x.exec;
  });
  if (!exec) return false;
  const out = await new Deno.Command(exec[0], {
    args: exec.slice(1),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const journal = join(dir, "logs", `${unit}.journal`);
  Deno.mkdirSync(join(dir, "logs"), { recursive: true });
  Deno.writeFileSync(journal, out.stdout, { append: true });
  Deno.writeFileSync(journal, out.stderr, { append: true });
  await withState(dir, (s) => finishOneshot(s, unit, out));
  return true;
}

async function waitForRun(dir: string, unit: string): Promise<void> {
  for (;;) {
    const x = readState(dir).units[unit];
    if (x?.kind !== "plain" || x.activeState !== "activating") return;
    if (!runBusy(x)) {
      // The runner died (SIGKILL) without recording the end: systemd saw its main process die.
      await withState(dir, (s) => {
        const y = s.units[unit];
        if (y?.kind === "plain" && y.activeState === "activating" && !runBusy(y)) {
          finishOneshot(s, unit, { code: 137, signal: "SIGKILL" });
        }
      });
      return;
    }
    await sleep(50);
  }
}

/**
 * Outside the lock: runs the claimed oneshots and waits for joined ones;
 * returns the first unit that ended failed, or null. With `detach`, hands the
 * claimed runs to a detached double (`__run-oneshot unit=token…`) and returns.
 */
export async function runOneshots(
  dir: string,
  runs: OneshotRun[],
  detach: boolean,
): Promise<string | null> {
  if (detach) {
    const mine = runs.filter((r) => r.token).map((r) => `${r.unit}=${r.token}`);
    if (mine.length) {
      new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          "--quiet",
          "--no-config",
          join(import.meta.dirname!, "fake_systemctl.ts"),
          "__run-oneshot",
          ...mine,
        ],
        stdin: "null",
        stdout: "null",
        stderr: "null",
        detached: true,
      }).spawn().unref();
    }
    return null;
  }
  for (const run of runs) {
    if (!run.token || !(await runClaimed(dir, run.unit, run.token))) {
      await waitForRun(dir, run.unit);
    }
    if (readState(dir).units[run.unit]?.activeState === "failed") return run.unit;
  }
  return null;
}

/** Parses the `unit=token` arguments of the internal `__run-oneshot` verb. */
export function parseRuns(args: string[]): OneshotRun[] {
  return args.map((a) => {
    const i = a.lastIndexOf("=");
    return { unit: a.slice(0, i), token: a.slice(i + 1) };
  });
}
