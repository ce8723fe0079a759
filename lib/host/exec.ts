/**
 * The command runner: runs an argv array (never a shell), with a timeout, and
 * captures its output. Every external program (podman, systemctl, lsblk, nix)
 * goes through here so that tests can put doubles on PATH.
 */
import { z } from "zod";
import { CommandError } from "../core/mod.ts";

/** Options for one external command. */
export interface RunOptions {
  /** Kill the command after this many milliseconds (default 60 s). */
  timeoutMs?: number;
  /** Text written to the command's standard input. */
  stdin?: string;
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** Working directory. */
  cwd?: string;
  /** Aborts the command early (SIGTERM from the operator, say). */
  signal?: AbortSignal;
  /** Called with each line of stderr as it arrives (progress of a pull). */
  onStderrLine?: (line: string) => void;
}

/** The outcome of a finished command. */
export interface RunResult {
  /** Exit code (non-zero codes are returned, not thrown, by `run`). */
  code: number;
  /** Captured standard output. */
  stdout: string;
  /** Captured standard error. */
  stderr: string;
}

/** Runs commands; the real one spawns processes, tests may substitute another. */
export type Runner = (argv: readonly string[], options?: RunOptions) => Promise<RunResult>;

const DEFAULT_TIMEOUT_MS = 60_000;

/** Last `lines` non-empty lines of a text, joined by " | " for one-line messages. */
export function tail(text: string, lines = 5): string {
  return text.split("\n").map((l) => l.trim()).filter(Boolean).slice(-lines).join(" | ");
}

async function collect(
  stream: ReadableStream<Uint8Array>,
  onLine?: (line: string) => void,
): Promise<string> {
  const decoder = new TextDecoder();
  let all = "";
  let pending = "";
  for await (const chunk of stream) {
    const text = decoder.decode(chunk, { stream: true });
    all += text;
    if (onLine) {
      pending += text;
      const parts = pending.split(/\r?\n|\r/);
      pending = parts.pop() ?? "";
      for (const p of parts) if (p.trim()) onLine(p);
    }
  }
  all += decoder.decode();
  if (onLine && pending.trim()) onLine(pending);
  return all;
}

/**
 * Runs `argv` and returns its exit code and output. Throws CommandError when the
 * program cannot be started, times out, or is aborted; a non-zero exit is returned.
 */
export const run: Runner = async (argv, options = {}) => {
  if (argv.length === 0) throw new TypeError("run: empty argv");
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
  const display = argv.join(" ");
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(argv[0], {
      args: argv.slice(1),
      stdin: options.stdin === undefined ? "null" : "piped",
      stdout: "piped",
      stderr: "piped",
      env: options.env,
      cwd: options.cwd,
      signal,
    }).spawn();
  } catch (err) {
    const why = err instanceof Deno.errors.NotFound ? "not found on PATH" : String(err);
    throw new CommandError(`cannot run ${argv[0]}: ${why}`, {
      argv,
      code: null,
      stderrTail: "",
    });
  }
  if (options.stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(options.stdin)).catch(() => {});
    await w.close().catch(() => {});
  }
  const [stdout, stderr, status] = await Promise.all([
    collect(child.stdout),
    collect(child.stderr, options.onStderrLine),
    child.status,
  ]);
  if (timeout.aborted) {
    throw new CommandError(`${display}: timed out after ${timeoutMs} ms`, {
      argv,
      code: null,
      stderrTail: tail(stderr),
    });
  }
  if (options.signal?.aborted) {
    throw new CommandError(`${display}: interrupted`, {
      argv,
      code: null,
      stderrTail: tail(stderr),
    });
  }
  return { code: status.code, stdout, stderr };
};

/** Runs `argv` like `run`, and throws CommandError (with the stderr tail) on a non-zero exit. */
export async function runChecked(
  runner: Runner,
  argv: readonly string[],
  options?: RunOptions,
): Promise<RunResult> {
  const result = await runner(argv, options);
  if (result.code !== 0) {
    const why = tail(result.stderr) || tail(result.stdout) || "no output";
    throw new CommandError(`${argv.join(" ")} exited ${result.code}: ${why}`, {
      argv,
      code: result.code,
      stderrTail: tail(result.stderr),
    });
  }
  return result;
}

/**
 * A program's JSON output that must be an array of `schema` entries (empty output is none);
 * anything else is a CommandError naming the program (`what`) and the field.
 */
export function parseJsonArray<T>(text: string, schema: z.ZodType<T>, what: string): T[] {
  let raw: unknown;
  try {
    raw = JSON.parse(text || "[]");
  } catch {
    throw new CommandError(`${what}: output is not JSON`, { argv: [], code: 0, stderrTail: "" });
  }
  const parsed = z.array(schema).safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new CommandError(
      `${what}: unexpected JSON at ${issue.path.join(".")}: ${issue.message}`,
      { argv: [], code: 0, stderrTail: "" },
    );
  }
  return parsed.data;
}
