/**
 * Bench: the upgrade runner's own cost, on the hermetic harness. Two figures:
 * - overhead: the wall time of `grapheon-tool upgrade --no-canary` minus the time
 *   spent inside external commands (podman, systemctl: timed by a wrapper around
 *   the harness doubles) and minus the wait for the new app to answer healthy
 *   (the tool's own "healthy after" figure). What is left is the tool: start-up,
 *   reading, journal/status/history writes, the backup, decisions. Target < 0.5 s.
 * - healthy → completed: from the first moment the new backend answers healthy
 *   with the new version (a 5 ms prober) to the status file saying completed.
 */
import { join } from "node:path";
import { Harness } from "../tests/harness/harness.ts";
import type { BenchContext, BenchRow } from "./stats.ts";

/** Runs per figure. */
export const RUNS = 7;

async function timedWrapper(dir: string, real: string, log: string): Promise<string> {
  const path = join(dir, `timed-${real.split("/").at(-1)}`);
  await Deno.writeTextFile(
    path,
    `#!/bin/sh\ns=$(date +%s%N)\n"${real}" "$@"\nrc=$?\necho "$s $(date +%s%N)" >> "${log}"\nexit $rc\n`,
  );
  await Deno.chmod(path, 0o755);
  return path;
}

async function externalMs(log: string): Promise<number> {
  const text = await Deno.readTextFile(log).catch(() => "");
  let total = 0;
  for (const line of text.split("\n")) {
    const [s, e] = line.split(" ").map(Number);
    if (s && e) total += (e - s) / 1e6;
  }
  return total;
}

async function overheadOnce(): Promise<number> {
  await using h = await Harness.create();
  const log = join(h.dir, "external.log");
  const podman = await timedWrapper(h.dir, h.config.commands.podman, log);
  const systemctl = await timedWrapper(h.dir, h.config.commands.systemctl, log);
  const config = JSON.parse(await Deno.readTextFile(h.configPath));
  config.commands = { ...config.commands, podman, systemctl };
  await Deno.writeTextFile(h.configPath, JSON.stringify(config));
  await h.writeRequest(Harness.request("0.3.0"));
  const t0 = performance.now();
  const r = await h.runTool(["upgrade", "--no-canary"]);
  const total = performance.now() - t0;
  if (r.code !== 0) throw new Error(`upgrade failed in the bench: ${r.stderr.slice(-300)}`);
  const m = /new release healthy after (\d+(?:\.\d+)?)(ms|s)/.exec(r.stderr);
  const healthWait = m ? Number(m[1]) * (m[2] === "s" ? 1000 : 1) : 0;
  return total - (await externalMs(log)) - healthWait;
}

async function healthyToCompletedOnce(): Promise<number> {
  await using h = await Harness.create();
  await h.writeRequest(Harness.request("0.3.0"));
  const child = h.spawnTool(["upgrade", "--no-canary"]);
  let healthyAt: number | undefined;
  let completedAt: number | undefined;
  const statusPath = join(h.dataDir, "upgrade-status.json");
  while (completedAt === undefined) {
    const now = performance.now();
    if (healthyAt === undefined) {
      const res = await h.health(200);
      if (res.ok && res.status === 200 && res.body.version === "0.3.0") healthyAt = now;
    }
    const text = await Deno.readTextFile(statusPath).catch(() => "");
    if (text.includes('"completed"')) completedAt = performance.now();
    if (now > (healthyAt ?? now) + 30_000) break;
    await new Promise((r) => setTimeout(r, 5));
  }
  await child.status;
  if (healthyAt === undefined || completedAt === undefined) {
    throw new Error("no healthy→completed seen");
  }
  return completedAt - healthyAt;
}

/** The bench module entry point. */
export async function bench(ctx: BenchContext): Promise<BenchRow[]> {
  const overhead: number[] = [];
  const toCompleted: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    ctx.progress(`upgrade: run ${i + 1}/${RUNS}`);
    overhead.push(await overheadOnce());
    toCompleted.push(await healthyToCompletedOnce());
  }
  return [
    {
      kind: "samples",
      name: "upgrade: tool overhead (harness)",
      unit: "ms",
      samples: overhead,
      target: { below: 500 },
      note:
        "wall time of upgrade --no-canary minus external commands and the app's boot-to-healthy wait",
    },
    {
      kind: "samples",
      name: "upgrade: new backend healthy → status completed",
      unit: "ms",
      samples: toCompleted,
      note:
        "5 ms prober on the live health URL and the status file; includes 2 consecutive passing rounds",
    },
  ];
}
