/**
 * What every command shares: the command interface `main.ts` dispatches to, the
 * global options, strict option parsing (unknown option → usage error, exit 2)
 * and result printing (human text, or JSON with `--json`).
 */
import { parseArgs, type ParseArgsOptionsConfig } from "node:util";
import { type AppVersion, parseAppVersion, parseDuration, UsageError } from "../core/mod.ts";
import type { Logger } from "./log.ts";

/** Options that every command accepts. */
export interface GlobalOptions {
  /** `--config FILE`. */
  configPath?: string;
  /** `--json`: machine-readable output on stdout. */
  json: boolean;
  /** `--quiet`: only warnings and errors in the log. */
  quiet: boolean;
  /** `--verbose`: debug lines in the log. */
  verbose: boolean;
}

/** What a command gets from `main.ts`. */
export interface CommandContext {
  /** The arguments after the command name, global options removed. */
  argv: string[];
  /** Global options. */
  global: GlobalOptions;
  /** The logger (stderr/journald). */
  log: Logger;
  /** Writes a result line to stdout. */
  out: (text: string) => void;
}

/** One subcommand. */
export interface CommandSpec {
  /** Name used on the command line. */
  name: string;
  /** Its own options, which `main.ts` parses together with the global ones. */
  options: ParseArgsOptionsConfig;
  /** Whether it takes positional arguments. */
  positionals?: boolean;
  /** Full text for `grapheon-tool <name> --help` (usage, options, exit codes). */
  help: string;
  /** Runs the command; resolves to the exit code. Expected failures throw ToolError. */
  run(ctx: CommandContext): Promise<number>;
}

/** Parses a command's own options strictly; anything unknown is a UsageError. */
export function parseCommandArgs<T extends ParseArgsOptionsConfig>(
  command: string,
  argv: string[],
  options: T,
  allowPositionals = false,
) {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true });
  } catch (err) {
    const msg = err instanceof Error ? err.message.split("\n")[0] : String(err);
    throw new UsageError(`${command}: ${msg.replace(/\. To specify.*$/, "")}`);
  }
}

/** Parses a duration flag value, or throws a UsageError naming the flag. */
export function durationFlag(flag: string, value: string | undefined, fallbackMs: number): number {
  if (value === undefined) return fallbackMs;
  const parsed = parseDuration(value);
  if (parsed === null) {
    throw new UsageError(`--${flag}: expected a duration such as 5s or 200ms, got "${value}"`);
  }
  return parsed;
}

/** Parses a version flag value (`X.Y.Z`, optional `v` and `-pre`), or throws a UsageError naming the flag. */
export function versionFlag(flag: string, value: string | undefined): AppVersion | undefined {
  if (value === undefined) return undefined;
  const parsed = parseAppVersion(value);
  if (!parsed) {
    throw new UsageError(`--${flag}: expected a version X.Y.Z, got "${value.slice(0, 40)}"`);
  }
  return parsed;
}

/** Parses a positive integer flag value, or throws a UsageError naming the flag. */
export function intFlag(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value)) {
    throw new UsageError(`--${flag}: expected a whole number, got "${value}"`);
  }
  return Number(value);
}

/**
 * JSON for stdout, which may be a terminal: JSON.stringify escapes the C0 controls (ESC
 * included) but not C1 (U+0080–U+009F, which a terminal may take as CSI) nor the bidi
 * overrides; those are written as \uXXXX escapes too, so the document stays the same JSON.
 */
export function jsonText(value: unknown, indent: number | undefined = 2): string {
  return JSON.stringify(value, null, indent).replace(
    /[\u0080-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/** Prints a result: `json` as one JSON document with `--json`, else the human text. */
export function printResult(ctx: CommandContext, human: string, json: unknown): void {
  if (ctx.global.json) ctx.out(jsonText(json));
  else if (human) ctx.out(human);
}
