/**
 * `deno task bench`: runs the bench modules (bench/<name>.ts, each exporting
 * `bench(ctx): Promise<BenchRow[]>`) one after another and prints one table, or
 * JSON with `--json`. A module that is not written yet, or that fails, shows
 * up as a NOT RUN row with the reason, never as a pass. Nothing is written to
 * disk; results are meant to be copied into docs/bench.md by hand.
 *
 *   deno task bench                      every module
 *   deno task bench -- --only health     a subset (repeatable, or comma-separated)
 *   deno task bench -- --json            JSON on stdout (progress stays on stderr)
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { type BenchContext, type BenchFn, type BenchRow, formatTable, rowToJson } from "./stats.ts";

/** Every bench module, in the order they run. */
export const MODULES = ["startup", "health", "upgrade", "lab"] as const;

const HELP = `Usage: deno task bench [-- --only NAME[,NAME]] [--json]

Modules: ${MODULES.join(", ")}. Prints a table (median, p10/p90, min/max, n,
target, verdict) on stdout and progress on stderr. The verdict only compares the
median with the target; the exit code is 0 unless a module failed or the
arguments are wrong (2).`;

/** Parsed command line. */
export interface BenchArgs {
  /** Modules to run, in MODULES order. */
  only: string[];
  /** JSON instead of the table. */
  json: boolean;
  /** Print the help. */
  help: boolean;
}

/** Parses the runner's arguments; throws on an unknown option or module name. */
export function parseBenchArgs(argv: string[]): BenchArgs {
  const { values } = parseArgs({
    args: argv.filter((a) => a !== "--"),
    options: {
      only: { type: "string", multiple: true },
      json: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  const asked = (values.only ?? []).flatMap((v) => v.split(",")).map((v) => v.trim()).filter(
    Boolean,
  );
  const unknown = asked.filter((name) => !(MODULES as readonly string[]).includes(name));
  if (unknown.length) {
    throw new Error(`--only: unknown module ${unknown.join(", ")} (known: ${MODULES.join(", ")})`);
  }
  const only = asked.length ? MODULES.filter((m) => asked.includes(m)) : [...MODULES];
  return { only, json: values.json ?? false, help: values.help ?? false };
}

function errorText(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).replace(/\s*\n\s*/g, " ").slice(0, 200);
}

async function exists(url: URL): Promise<boolean> {
  try {
    return (await Deno.stat(url)).isFile;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

/** Loads and runs one module; a missing or failing module becomes a NOT RUN row. */
async function runModule(
  name: string,
  ctx: BenchContext,
): Promise<{ rows: BenchRow[]; failed: boolean }> {
  const url = new URL(`./${name}.ts`, import.meta.url);
  if (!(await exists(url))) {
    return {
      rows: [{ kind: "not_run", name: `${name}: *`, reason: `bench/${name}.ts not written yet` }],
      failed: false,
    };
  }
  try {
    const mod = await import(url.href) as { bench?: BenchFn };
    if (typeof mod.bench !== "function") throw new Error(`bench/${name}.ts exports no bench()`);
    return { rows: await mod.bench(ctx), failed: false };
  } catch (err) {
    return {
      rows: [{ kind: "not_run", name: `${name}: *`, reason: `FAILED: ${errorText(err)}` }],
      failed: true,
    };
  }
}

/** Runs the bench and resolves to the exit code. */
export async function runBench(argv: string[]): Promise<number> {
  const enc = new TextEncoder();
  const err = (line: string) => Deno.stderr.writeSync(enc.encode(line + "\n"));
  let args: BenchArgs;
  try {
    args = parseBenchArgs(argv);
  } catch (e) {
    err(`bench: ${errorText(e)}`);
    return 2;
  }
  if (args.help) {
    console.log(HELP);
    return 0;
  }
  const ctx: BenchContext = {
    repoRoot: join(import.meta.dirname!, ".."),
    progress: (line) => err(`  ${line}`),
  };
  const started = new Date();
  const rows: BenchRow[] = [];
  let failed = false;
  for (const name of args.only) {
    err(`bench: ${name}`);
    const t0 = performance.now();
    const result = await runModule(name, ctx);
    err(`bench: ${name} done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    rows.push(...result.rows);
    failed ||= result.failed;
  }
  const machine = {
    cpus: navigator.hardwareConcurrency,
    os: `${Deno.build.os} ${Deno.osRelease()}`,
    arch: Deno.build.arch,
    deno: Deno.version.deno,
  };
  if (args.json) {
    console.log(JSON.stringify(
      { date: started.toISOString(), machine, rows: rows.map(rowToJson) },
      null,
      2,
    ));
  } else {
    console.log(
      `grapheon-tool bench, ${started.toISOString()}, ${machine.cpus} CPUs, ` +
        `${machine.os} ${machine.arch}, deno ${machine.deno}\n`,
    );
    console.log(formatTable(rows));
  }
  return failed ? 1 : 0;
}

if (import.meta.main) {
  Deno.exit(await runBench(Deno.args));
}
