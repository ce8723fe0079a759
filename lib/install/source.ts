/**
 * What `install` puts at `binPath`: the running compiled binary itself, or,
 * when the tool runs from a source checkout under `deno run` (the executable is
 * Deno and the main module a file), a small launcher script that runs that
 * checkout with the same permissions the compiled binary gets.
 */
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import compileSpec from "../../scripts/compile_spec.json" with { type: "json" };
import { run } from "../host/mod.ts";

/** The bytes to install and how they were obtained. */
export interface ToolSource {
  /** `binary`: a copy of the compiled executable; `launcher`: a script running a checkout. */
  kind: "binary" | "launcher";
  /** The file content to install. */
  bytes: Uint8Array;
  /** Human description for the output. */
  description: string;
}

/**
 * The permission flags every build of the tool runs with (scripts/compile_spec.json):
 * all of them, because node:sqlite refuses ATTACH (and so the backup's `VACUUM INTO`)
 * unless the process has every permission.
 */
export const TOOL_PERMISSIONS: readonly string[] = compileSpec.permissions;

/** True when the process is Deno running a source file, not a compiled binary. */
export function runningFromSource(execPath = Deno.execPath(), mainModule = Deno.mainModule) {
  return /^deno(\.exe)?$/.test(basename(execPath)) && mainModule.startsWith("file:");
}

/** Quotes a value for POSIX sh in single quotes. */
export function shQuote(value: string): string {
  return `'${value.replaceAll("'", `'"'"'`)}'`;
}

/** The launcher script text for a checkout (pure, for tests). */
export function launcherScript(opts: { deno: string; main: string; denoDir: string }): string {
  const configFile = join(dirname(opts.main), "deno.json");
  return [
    "#!/bin/sh",
    "# grapheon-tool launcher written by `grapheon-tool install` from a source checkout;",
    "# it runs that checkout with Deno (a compiled binary is installed as-is instead).",
    `DENO_DIR=${shQuote(opts.denoDir)}`,
    "export DENO_DIR",
    `exec ${shQuote(opts.deno)} run ${TOOL_PERMISSIONS.join(" ")} --cached-only --config ${
      shQuote(configFile)
    } ${shQuote(opts.main)} "$@"`,
    "",
  ].join("\n");
}

async function denoDir(deno: string): Promise<string> {
  const fromEnv = Deno.env.get("DENO_DIR");
  if (fromEnv) return fromEnv;
  const r = await run([deno, "info", "--json"], { timeoutMs: 30_000 });
  const dir = r.code === 0 ? (JSON.parse(r.stdout) as { denoDir?: string }).denoDir : undefined;
  if (!dir) throw new Error(`${deno} info --json did not report the Deno cache directory`);
  return dir;
}

/** The tool as it runs now, ready to be installed. */
export async function currentToolSource(): Promise<ToolSource> {
  const exec = Deno.execPath();
  if (!runningFromSource(exec, Deno.mainModule)) {
    return {
      kind: "binary",
      bytes: await Deno.readFile(exec),
      description: `compiled binary ${exec}`,
    };
  }
  const main = fileURLToPath(Deno.mainModule);
  const text = launcherScript({ deno: exec, main, denoDir: await denoDir(exec) });
  return {
    kind: "launcher",
    bytes: new TextEncoder().encode(text),
    description: `running from source (${main} under ${exec}): installing a launcher script`,
  };
}
