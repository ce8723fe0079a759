/**
 * The logger. Logs are for journald: one line per event on stderr, with a
 * syslog priority prefix (`<3>` error, `<4>` warning, `<6>` info, `<7>` debug)
 * when not on a terminal; human lines on a terminal; JSON lines with `--json`.
 * Results meant for scripts go to stdout, never through the logger.
 */

/** Log levels, by syslog priority. */
export type Level = "error" | "warn" | "info" | "debug";

const PRIORITY: Record<Level, number> = { error: 3, warn: 4, info: 6, debug: 7 };

/** Extra structured fields attached to an event. */
export type Fields = Record<string, unknown>;

/** How the logger formats lines. */
export type LogFormat = "human" | "journal" | "json";

/** A logger; tests replace it with a recording one. */
export interface Logger {
  /** An error the operator must see. */
  error(msg: string, fields?: Fields): void;
  /** Something went wrong but the command goes on. */
  warn(msg: string, fields?: Fields): void;
  /** A normal event. */
  info(msg: string, fields?: Fields): void;
  /** Detail shown with --verbose. */
  debug(msg: string, fields?: Fields): void;
}

/** Options for the stream logger. */
export interface LoggerOptions {
  /** Line format. */
  format: LogFormat;
  /** Show only warnings and errors. */
  quiet?: boolean;
  /** Show debug lines. */
  verbose?: boolean;
  /** Where lines go (default: stderr). */
  write?: (line: string) => void;
}

/** Picks the format: JSON if asked, journal prefixes when stderr is not a terminal or under systemd. */
export function defaultFormat(json: boolean): LogFormat {
  if (json) return "json";
  if (Deno.env.get("JOURNAL_STREAM")) return "journal";
  return Deno.stderr.isTerminal() ? "human" : "journal";
}

function fieldText(fields?: Fields): string {
  if (!fields) return "";
  const parts = Object.entries(fields)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`);
  return parts.length ? ` (${parts.join(" ")})` : "";
}

/** Formats one event as a single line (newlines in messages are folded). */
export function formatLine(format: LogFormat, level: Level, msg: string, fields?: Fields): string {
  const oneLine = msg.replace(/\s*\n\s*/g, " ");
  switch (format) {
    case "json":
      return JSON.stringify({ ts: new Date().toISOString(), level, msg: oneLine, ...fields });
    case "journal":
      return `<${PRIORITY[level]}>${oneLine}${fieldText(fields)}`;
    case "human": {
      const tag = level === "error" ? "error: " : level === "warn" ? "warning: " : "";
      return `${tag}${oneLine}${fieldText(fields)}`;
    }
  }
}

/** A logger that writes one line per event. */
export function createLogger(options: LoggerOptions): Logger {
  const enc = new TextEncoder();
  const write = options.write ?? ((line: string) => {
    try {
      Deno.stderr.writeSync(enc.encode(line + "\n"));
    } catch {
      // nobody reads stderr any more (a dropped SSH session, a closed pipe): the job goes on,
      // and its status file, journal and history still record what happened
    }
  });
  const emit = (level: Level) => (msg: string, fields?: Fields) => {
    if (options.quiet && (level === "info" || level === "debug")) return;
    if (level === "debug" && !options.verbose) return;
    write(formatLine(options.format, level, msg, fields));
  };
  return { error: emit("error"), warn: emit("warn"), info: emit("info"), debug: emit("debug") };
}

/** A logger that keeps events in memory, for tests. */
export function recordingLogger(): Logger & { lines: { level: Level; msg: string }[] } {
  const lines: { level: Level; msg: string }[] = [];
  const rec = (level: Level) => (msg: string) => void lines.push({ level, msg });
  return { lines, error: rec("error"), warn: rec("warn"), info: rec("info"), debug: rec("debug") };
}
