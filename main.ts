/**
 * grapheon-tool entry point: parses the global options, picks the command and
 * turns its outcome (or a typed error) into an exit code. `deno run -A main.ts`
 * behaves exactly like the compiled binary.
 */
import { parseArgs, type ParseArgsOptionsConfig } from "node:util";
import { type CommandEntry, COMMANDS } from "./commands/registry.ts";
import {
  type CommandContext,
  createLogger,
  defaultFormat,
  type ErrorJson,
  type GlobalOptions,
  jsonText,
} from "./lib/cli/mod.ts";
import {
  errorMessage,
  EXIT,
  EXIT_CODE_HELP,
  TOOL_VERSION,
  ToolError,
  UsageError,
} from "./lib/core/mod.ts";

const GLOBAL_HELP = [
  "Global options (before or after the command):",
  "  --config FILE   config file (default /etc/grapheon/grapheon-tool.json, or $GRAPHEON_TOOL_CONFIG)",
  "  --json          machine-readable output on stdout",
  "  -q, --quiet     log only warnings and errors",
  "  -v, --verbose   log debug detail",
  "  -h, --help      help for the tool or the command",
];

function toolHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    "grapheon-tool: upgrade, roll back and check Graphēon hosts (Podman containers under systemd)",
    "",
    "Usage: grapheon-tool [global options] <command> [options]",
    "       grapheon-tool --version",
    "",
    "Commands:",
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    "",
    ...GLOBAL_HELP,
    "",
    "Exit codes:",
    ...EXIT_CODE_HELP,
    "",
    "Run 'grapheon-tool <command> --help' for a command's options.",
  ].join("\n");
}

const GLOBAL_OPTIONS = {
  config: { type: "string" },
  json: { type: "boolean" },
  quiet: { type: "boolean", short: "q" },
  verbose: { type: "boolean", short: "v" },
  help: { type: "boolean", short: "h" },
  version: { type: "boolean" },
} as const satisfies ParseArgsOptionsConfig;

/** What the command line says. */
export interface ParsedArgv {
  /** Global options. */
  global: GlobalOptions;
  /** The command's entry, when one was named. */
  command?: CommandEntry;
  /** The command's own arguments (options and positionals), for its own parser. */
  rest: string[];
  /** `--help`/`-h` anywhere. */
  help: boolean;
  /** `--version` (as a global option). */
  version: boolean;
}

function usage(err: unknown): UsageError {
  return new UsageError(errorMessage(err).replace(/\. To specify.*$/, ""));
}

/**
 * Parses argv with `node:util` parseArgs: the global options and the command's
 * own, in one strict pass (so `-qv` and `--config` with no value are handled as
 * parseArgs does), then hands the command its own tokens back as arguments.
 * The command is loaded here because its options are part of the grammar.
 */
export async function parseArgv(argv: string[]): Promise<ParsedArgv> {
  // First the command name: the first positional when only the global options are known.
  let first;
  try {
    first = parseArgs({
      args: argv,
      options: GLOBAL_OPTIONS,
      strict: false,
      allowPositionals: true,
      tokens: true,
    });
  } catch (err) {
    throw usage(err);
  }
  const nameToken = first.tokens.find((t) =>
    t.kind === "positional" || t.kind === "option-terminator"
  );
  const name = nameToken?.kind === "positional" ? nameToken.value : undefined;
  const command = name === undefined ? undefined : COMMANDS.find((c) => c.name === name);
  if (name !== undefined && !command) throw new UsageError(`unknown command "${name}"`);
  const spec = command ? await command.load() : undefined;
  const own = spec?.options ?? {};
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      // A command's own option wins over a global of the same name (upgrade --version X.Y.Z).
      options: { ...GLOBAL_OPTIONS, ...own },
      strict: true,
      allowPositionals: true,
      tokens: true,
    });
  } catch (err) {
    throw usage(spec ? `${spec.name}: ${errorMessage(err)}` : err);
  }
  const rest: string[] = [];
  let seenCommand = false;
  for (const t of parsed.tokens) {
    if (t.kind === "positional") {
      if (!seenCommand && command) seenCommand = true;
      else if (spec?.positionals) rest.push(t.value);
      else throw new UsageError(`${name ?? "grapheon-tool"}: unexpected argument "${t.value}"`);
    } else if (t.kind === "option-terminator") {
      if (spec?.positionals) rest.push("--");
    } else if (t.name in own) {
      rest.push(t.value === undefined ? `--${t.name}` : `--${t.name}=${t.value}`);
    }
  }
  const v = parsed.values as Record<string, unknown>;
  const flag = (key: string) => !(key in own) && v[key] === true;
  return {
    global: {
      configPath: "config" in own ? undefined : v.config as string | undefined,
      json: flag("json"),
      quiet: flag("quiet"),
      verbose: flag("verbose"),
    },
    command,
    rest,
    help: flag("help"),
    version: flag("version"),
  };
}

/** Runs the tool with `argv` and resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  const enc = new TextEncoder();
  let printed = false;
  const out = (text: string) => {
    printed = true;
    try {
      Deno.stdout.writeSync(enc.encode(text + "\n"));
    } catch {
      // stdout is gone (a dropped SSH session): the exit code still says what happened
    }
  };
  let json = argv.includes("--json");
  // --json promises one document on stdout whatever happened: an error is one too
  const errorDocument = (code: number, message: string) => {
    if (!json || printed) return;
    const doc: ErrorJson = { result: "error", exit_code: code, message };
    out(jsonText(doc));
  };
  let log = createLogger({ format: defaultFormat(json) });
  try {
    const parsed = await parseArgv(argv);
    json = parsed.global.json;
    log = createLogger({
      format: defaultFormat(json),
      quiet: parsed.global.quiet,
      verbose: parsed.global.verbose,
    });
    if (parsed.version && !parsed.command) {
      out(json ? JSON.stringify({ version: TOOL_VERSION }) : `grapheon-tool ${TOOL_VERSION}`);
      return EXIT.OK;
    }
    if (!parsed.command) {
      if (parsed.help) {
        out(toolHelp());
        return EXIT.OK;
      }
      throw new UsageError("no command given");
    }
    const spec = await parsed.command.load();
    if (parsed.help) {
      out(spec.help);
      return EXIT.OK;
    }
    const ctx: CommandContext = { argv: parsed.rest, global: parsed.global, log, out };
    return await spec.run(ctx);
  } catch (err) {
    if (err instanceof ToolError) {
      log.error(errorMessage(err));
      if (err instanceof UsageError) {
        Deno.stderr.writeSync(enc.encode("Run 'grapheon-tool --help' for usage.\n"));
      }
      errorDocument(err.exitCode, errorMessage(err));
      return err.exitCode;
    }
    log.error(`internal error: ${errorMessage(err)}`);
    if (err instanceof Error && err.stack) log.debug(err.stack);
    errorDocument(EXIT.INTERNAL, `internal error: ${errorMessage(err)}`);
    return EXIT.INTERNAL;
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
