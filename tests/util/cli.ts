/** Runs the real CLI entry point (`deno run -A main.ts`) as a child process, for end-to-end tests. */
import { join } from "node:path";

/** The repository root. */
export const REPO_ROOT = join(import.meta.dirname!, "..", "..");

/** Result of one CLI run. */
export interface CliResult {
  /** Exit code. */
  code: number;
  /** Standard output. */
  stdout: string;
  /** Standard error (the log). */
  stderr: string;
}

/** Runs `grapheon-tool args…` with extra environment variables. */
export async function runCli(
  args: string[],
  options: { env?: Record<string, string> } = {},
): Promise<CliResult> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", join(REPO_ROOT, "main.ts"), ...args],
    env: { GRAPHEON_TOOL_CONFIG: "", ...options.env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** A fresh temp dir, removed by the returned disposer. */
export async function tempDir(
  prefix = "grapheon-test-",
): Promise<AsyncDisposable & { path: string }> {
  const path = await Deno.makeTempDir({ prefix });
  return {
    path,
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }).catch(() => {}),
  };
}
