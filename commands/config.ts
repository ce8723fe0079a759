/**
 * `grapheon-tool config`: prints the effective configuration, or validates a
 * file with `--check FILE`.
 */
import { type CommandSpec, jsonText, parseCommandArgs, printResult } from "../lib/cli/mod.ts";
import { loadConfig, parseConfig } from "../lib/config/mod.ts";
import { ConfigError, errorMessage, EXIT } from "../lib/core/mod.ts";

/** The command's own options (main.ts parses them with the global ones). */
const OPTIONS = { check: { type: "string" } } as const;

/** The `config` command. */
export const configCommand: CommandSpec = {
  name: "config",
  options: OPTIONS,
  help: `Usage: grapheon-tool config [--check FILE] [--json]

Prints the effective configuration: the config file (--config, $GRAPHEON_TOOL_CONFIG,
or /etc/grapheon/grapheon-tool.json when present) over the built-in defaults.

Options:
  --check FILE   validate FILE and exit; the error names the file and the field

Exit codes: 0 valid, 2 bad command line, 3 invalid config.`,
  async run(ctx) {
    const { values } = parseCommandArgs("config", ctx.argv, OPTIONS);
    if (values.check !== undefined) {
      let text: string;
      try {
        text = await Deno.readTextFile(values.check);
      } catch (err) {
        throw new ConfigError(`${values.check}: cannot read config: ${errorMessage(err)}`);
      }
      parseConfig(text, values.check);
      printResult(ctx, `${values.check}: valid`, { file: values.check, valid: true });
      return EXIT.OK;
    }
    const { config, path } = await loadConfig(ctx.global.configPath);
    if (ctx.global.json) ctx.out(jsonText(config));
    else {
      ctx.out(`# effective config (${path ?? "built-in defaults; no config file"})`);
      ctx.out(jsonText(config));
    }
    return EXIT.OK;
  },
};
