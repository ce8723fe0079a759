/**
 * Finding and ending a harness's processes: every process whose environment
 * holds its `GRAPHEON_HARNESS_STATE` (tools it ran, doubles, fake apps, oneshot
 * runs) plus the containers recorded in its state.
 */
import { type Container, processAlive, readState, sleep } from "./state.ts";

/** PIDs of live, non-zombie processes (other than this one) whose environment marks them as the harness's. */
export function harnessPids(stateDir: string): number[] {
  const marker = `GRAPHEON_HARNESS_STATE=${stateDir}`;
  const pids: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    const pid = Number(e.name);
    if (pid === Deno.pid) continue;
    try {
      const environ = Deno.readTextFileSync(`/proc/${pid}/environ`).split("\0");
      const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
      const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
      if (state !== "Z" && environ.includes(marker)) pids.push(pid);
    } catch { /* gone, or not ours to read */ }
  }
  return pids;
}

/** SIGKILLs every process of the harness, repeating until none is left (up to about a second). */
export async function killHarnessProcesses(stateDir: string): Promise<void> {
  let containers: Container[] = [];
  try {
    containers = Object.values(readState(stateDir).containers);
  } catch { /* no state yet */ }
  for (let round = 0; round < 50; round++) {
    const pids = [
      ...harnessPids(stateDir),
      ...containers.filter((c) => processAlive(c.pid, c.pidStart)).map((c) => c.pid),
    ];
    if (pids.length === 0) return;
    for (const pid of pids) {
      try {
        Deno.kill(pid, "SIGKILL");
      } catch { /* gone */ }
    }
    await sleep(20);
  }
}
