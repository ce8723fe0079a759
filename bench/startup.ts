/**
 * Bench: start-up time of `grapheon-tool --version` (`deno run -A main.ts
 * --version`, spawn → exit), against `deno run` of an empty script as the
 * baseline, so that the ratio says what the tool's module graph costs on top of
 * the runtime itself. Runs alternate between the two so that noise hits both.
 */
import { join } from "node:path";
import { type BenchContext, type BenchRow, median } from "./stats.ts";

/** Measured runs of each command. */
export const RUNS = 20;
/** Unmeasured runs of each first (module cache, page cache). */
const WARMUP = 2;

/** Spawns `deno args…`, checks the exit code and stdout, and returns spawn → exit in ms. */
async function timeRun(args: string[], expectOut: RegExp): Promise<number> {
  const t0 = performance.now();
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    env: { GRAPHEON_TOOL_CONFIG: "" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const elapsed = performance.now() - t0;
  const stdout = new TextDecoder().decode(out.stdout);
  if (out.code !== 0 || !expectOut.test(stdout)) {
    const stderr = new TextDecoder().decode(out.stderr);
    throw new Error(`deno ${args.join(" ")} exited ${out.code}: ${stdout.trim()} ${stderr.trim()}`);
  }
  return elapsed;
}

/** The start-up bench. */
export async function bench(ctx: BenchContext): Promise<BenchRow[]> {
  const dir = await Deno.makeTempDir({ prefix: "grapheon-bench-" });
  try {
    const empty = join(dir, "empty.ts");
    await Deno.writeTextFile(empty, "");
    const tool = () =>
      timeRun(["run", "-A", join(ctx.repoRoot, "main.ts"), "--version"], /^grapheon-tool \S+/);
    const bare = () => timeRun(["run", "-A", empty], /^$/);
    for (let i = 0; i < WARMUP; i++) {
      await tool();
      await bare();
    }
    const toolMs: number[] = [];
    const bareMs: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      toolMs.push(await tool());
      bareMs.push(await bare());
      ctx.progress(
        `startup run ${i + 1}/${RUNS}: tool ${toolMs[i].toFixed(1)} ms, empty ${
          bareMs[i].toFixed(1)
        } ms`,
      );
    }
    const n = Math.min(toolMs.length, bareMs.length);
    return [
      {
        kind: "samples",
        name: "startup: grapheon-tool --version",
        unit: "ms",
        samples: toolMs,
        note: "deno run -A main.ts --version, spawn → exit",
      },
      {
        kind: "samples",
        name: "startup: deno run empty script",
        unit: "ms",
        samples: bareMs,
        note: "baseline: the runtime's own start-up",
      },
      {
        kind: "derived",
        name: "startup: tool / empty",
        unit: "x",
        value: median(toolMs) / median(bareMs),
        n,
        note: "ratio of the medians",
      },
      {
        kind: "derived",
        name: "startup: tool - empty",
        unit: "ms",
        value: median(toolMs) - median(bareMs),
        n,
        note: "difference of the medians: what loading the tool's modules costs",
      },
    ];
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
