/**
 * Typed errors. Every error a user can see carries a one-line message they can
 * act on and the exit code it maps to; `main.ts` turns them into a log line
 * and an exit status.
 */
import { EXIT, type ExitCode } from "./exit_codes.ts";

/** Base of all expected errors: a user-facing message and the exit code it means. */
export class ToolError extends Error {
  /** Exit code the process ends with when this error reaches `main.ts`. */
  readonly exitCode: ExitCode;
  /** Constructs an error with a message and an exit code. */
  constructor(message: string, exitCode: ExitCode = EXIT.FAILURE, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.exitCode = exitCode;
  }
}

/** The command line is wrong (exit 2). */
export class UsageError extends ToolError {
  /** Constructs a usage error. */
  constructor(message: string) {
    super(message, EXIT.USAGE);
  }
}

/** The config file is wrong (exit 3); the message names the file and field. */
export class ConfigError extends ToolError {
  /** Constructs a config error. */
  constructor(message: string) {
    super(message, EXIT.CONFIG);
  }
}

/** An input file or value is wrong (exit 4); the message names the file and field. */
export class InputError extends ToolError {
  /** Constructs an input error. */
  constructor(message: string) {
    super(message, EXIT.BAD_INPUT);
  }
}

/** Another process holds the upgrade lock (exit 5). */
export class BusyError extends ToolError {
  /** Constructs a busy error. */
  constructor(message: string) {
    super(message, EXIT.BUSY);
  }
}

/** An external command failed, timed out or could not be started. */
export class CommandError extends ToolError {
  /** The argv that was run. */
  readonly argv: readonly string[];
  /** Exit code of the command, or null when it timed out or did not start. */
  readonly code: number | null;
  /** Last lines of the command's standard error. */
  readonly stderrTail: string;
  /** Constructs a command error. */
  constructor(
    message: string,
    details: { argv: readonly string[]; code: number | null; stderrTail: string },
  ) {
    super(message, EXIT.FAILURE);
    this.argv = details.argv;
    this.code = details.code;
    this.stderrTail = details.stderrTail;
  }
}

/** Refuses to act on a path that is a symlink or not a regular file. */
export class UnsafePathError extends InputError {}

/** Returns a one-line message for any thrown value. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message.replace(/\s*\n\s*/g, " ");
  return String(err);
}
