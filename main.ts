/**
 * grapheon-tool entry point: parses the global options, picks the command and
 * turns its outcome (or a typed error) into an exit code. `deno run -A main.ts`
 * behaves exactly like the compiled binary.
 */
import { parseArgs } from "node:util";
import { COMMANDS } from "./commands/registry.ts";
import type { CommandContext, GlobalOptions } from "./lib/cli/command.ts";
import { errorMessage, ToolError, UsageError } from "./lib/core/errors.ts";
import { EXIT, EXIT_CODE_HELP } from "./lib/core/exit_codes.ts";
import { createLogger, defaultFormat } from "./lib/cli/log.ts";
import { TOOL_VERSION } from "./lib/core/version.ts";

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
} as const;

/** Splits argv into global options, the command name, and the command's own arguments. */
export function splitArgv(argv: string[]): {
  global: GlobalOptions;
  command?: string;
  rest: string[];
  help: boolean;
  version: boolean;
} {
  const global: GlobalOptions = { json: false, quiet: false, verbose: false };
  let i = 0;
  const leading: string[] = [];
  while (i < argv.length && argv[i].startsWith("-")) {
    leading.push(argv[i]);
    if (argv[i] === "--config") leading.push(argv[++i] ?? "");
    i++;
  }
  let parsed;
  try {
    parsed = parseArgs({ args: leading, options: GLOBAL_OPTIONS, strict: true }).values;
  } catch (err) {
    throw new UsageError(errorMessage(err).replace(/\. To specify.*$/, ""));
  }
  global.configPath = parsed.config;
  global.json = parsed.json ?? false;
  global.quiet = parsed.quiet ?? false;
  global.verbose = parsed.verbose ?? false;
  const command = argv[i];
  const rest: string[] = [];
  let help = parsed.help ?? false;
  for (let j = i + 1; j < argv.length; j++) {
    const a = argv[j];
    if (a === "--") {
      rest.push(...argv.slice(j));
      break;
    }
    if (a === "--json") global.json = true;
    else if (a === "--quiet" || a === "-q") global.quiet = true;
    else if (a === "--verbose" || a === "-v") global.verbose = true;
    else if (a === "--help" || a === "-h") help = true;
    else if (a === "--config") global.configPath = argv[++j];
    else if (a.startsWith("--config=")) global.configPath = a.slice("--config=".length);
    else rest.push(a);
  }
  return { global, command, rest, help, version: parsed.version ?? false };
}

/** Runs the tool with `argv` and resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  const enc = new TextEncoder();
  const out = (text: string) => Deno.stdout.writeSync(enc.encode(text + "\n"));
  let json = argv.includes("--json");
  let log = createLogger({ format: defaultFormat(json) });
  try {
    const split = splitArgv(argv);
    json = split.global.json;
    log = createLogger({
      format: defaultFormat(json),
      quiet: split.global.quiet,
      verbose: split.global.verbose,
    });
    if (split.version && !split.command) {
      out(json ? JSON.stringify({ version: TOOL_VERSION }) : `grapheon-tool ${TOOL_VERSION}`);
      return EXIT.OK;
    }
    if (!split.command) {
      if (split.help) {
        out(toolHelp());
        return EXIT.OK;
      }
      throw new UsageError("no command given");
    }
    const spec = COMMANDS.find((c) => c.name === split.command);
    if (!spec) throw new UsageError(`unknown command "${split.command}"`);
    if (split.help) {
      out(spec.help);
      return EXIT.OK;
    }
    const ctx: CommandContext = { argv: split.rest, global: split.global, log, out };
    return await spec.run(ctx);
  } catch (err) {
    if (err instanceof ToolError) {
      log.error(errorMessage(err));
      if (err instanceof UsageError) {
        Deno.stderr.writeSync(enc.encode("Run 'grapheon-tool --help' for usage.\n"));
      }
      return err.exitCode;
    }
    log.error(`internal error: ${errorMessage(err)}`);
    if (err instanceof Error && err.stack) log.debug(err.stack);
    return EXIT.INTERNAL;
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
