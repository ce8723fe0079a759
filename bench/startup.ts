/**
 * Bench: start-up time of `grapheon-tool --version` (`deno run -A main.ts
 * --version`, spawn → exit), against `deno run` of an empty script as the
 * baseline, so that the ratio says what the tool's module graph costs on top of
 * the runtime itself. When a compiled binary is at hand (`$GRAPHEON_BENCH_BINARY`,
 * or dist/grapheon-tool* for this machine's architecture) it is timed too;
 * otherwise that row says NOT RUN. Runs alternate between the commands so that
 * noise hits all of them alike.
 */
import { join } from "node:path";
import { type BenchContext, type BenchRow, median } from "./stats.ts";

/** Measured runs of each command. */
export const RUNS = 20;
/** Unmeasured runs of each first (module cache, page cache). */
const WARMUP = 2;
const VERSION_OUT = /^grapheon-tool \S+/;

/** Spawns `command args…`, checks the exit code and stdout, and returns spawn → exit in ms. */
async function timeRun(command: string, args: string[], expectOut: RegExp): Promise<number> {
  const t0 = performance.now();
  const out = await new Deno.Command(command, {
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
    throw new Error(`${command} ${args.join(" ")} exited ${out.code}: ${stdout} ${stderr}`.trim());
  }
  return elapsed;
}

/** The compiled binary to time: `$GRAPHEON_BENCH_BINARY`, else an executable dist/grapheon-tool* for this arch. */
export async function findCompiled(repoRoot: string): Promise<string | undefined> {
  const named = Deno.env.get("GRAPHEON_BENCH_BINARY");
  if (named) return named;
  const dist = join(repoRoot, "dist");
  const found: string[] = [];
  const walk = async (dir: string, depth: number) => {
    try {
      for await (const entry of Deno.readDir(dir)) {
        const path = join(dir, entry.name);
        if (entry.isDirectory && depth < 2) await walk(path, depth + 1);
        const stat = entry.isFile ? await Deno.stat(path) : undefined;
        if (stat && (stat.mode ?? 0) & 0o111 && entry.name.startsWith("grapheon-tool")) {
          found.push(path);
        }
      }
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
  };
  await walk(dist, 0);
  const arch = Deno.build.arch;
  return found.sort().find((p) => p.slice(dist.length).includes(arch)) ??
    found.find((p) => p.endsWith("/grapheon-tool"));
}

/** The start-up bench. */
export async function bench(ctx: BenchContext): Promise<BenchRow[]> {
  const dir = await Deno.makeTempDir({ prefix: "grapheon-bench-" });
  try {
    const empty = join(dir, "empty.ts");
    await Deno.writeTextFile(empty, "");
    const deno = Deno.execPath();
    const binary = await findCompiled(ctx.repoRoot);
    const commands: { key: string; run: () => Promise<number> }[] = [
      {
        key: "tool",
        run: () =>
          timeRun(deno, ["run", "-A", join(ctx.repoRoot, "main.ts"), "--version"], VERSION_OUT),
      },
      { key: "empty", run: () => timeRun(deno, ["run", "-A", empty], /^$/) },
    ];
    if (binary) {
      commands.push({
        key: "compiled",
        run: () => timeRun(binary, ["--version"], VERSION_OUT),
      });
    }
    for (let i = 0; i < WARMUP; i++) for (const c of commands) await c.run();
    const ms: Record<string, number[]> = { tool: [], empty: [], compiled: [] };
    for (let i = 0; i < RUNS; i++) {
      for (const c of commands) ms[c.key].push(await c.run());
      const line = commands.map((c) => `${c.key} ${ms[c.key][i].toFixed(1)} ms`).join(", ");
      ctx.progress(`startup run ${i + 1}/${RUNS}: ${line}`);
    }
    const rows: BenchRow[] = [
      {
        kind: "samples",
        name: "startup: grapheon-tool --version",
        unit: "ms",
        samples: ms.tool,
        note: "deno run -A main.ts --version, spawn → exit",
      },
      {
        kind: "samples",
        name: "startup: deno run empty script",
        unit: "ms",
        samples: ms.empty,
        note: "baseline: the runtime's own start-up",
      },
      {
        kind: "derived",
        name: "startup: tool / empty",
        unit: "x",
        value: median(ms.tool) / median(ms.empty),
        n: RUNS,
        note: "ratio of the medians",
      },
      {
        kind: "derived",
        name: "startup: tool - empty",
        unit: "ms",
        value: median(ms.tool) - median(ms.empty),
        n: RUNS,
        note: "difference of the medians: what loading the tool's modules costs",
      },
    ];
    if (!binary) {
      rows.push({
        kind: "not_run",
        name: "startup: compiled --version",
        reason: "no compiled binary (dist/grapheon-tool* or $GRAPHEON_BENCH_BINARY)",
      });
    } else {
      rows.push({
        kind: "samples",
        name: "startup: compiled --version",
        unit: "ms",
        samples: ms.compiled,
        note: `${
          binary.startsWith(ctx.repoRoot) ? binary.slice(ctx.repoRoot.length + 1) : binary
        } --version`,
      }, {
        kind: "derived",
        name: "startup: compiled / empty",
        unit: "x",
        value: median(ms.compiled) / median(ms.empty),
        n: RUNS,
        note: "ratio of the medians",
      });
    }
    return rows;
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
