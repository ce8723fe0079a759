/**
 * `grapheon-tool history`: the upgrades and rollbacks this host went through,
 * newest first: from → to, result, duration, who started it (the app's
 * request, the operator, boot recovery), and the message the web UI showed.
 */
import { type CommandSpec, intFlag, parseCommandArgs, printResult } from "../lib/cli/mod.ts";
import { loadConfig } from "../lib/config/mod.ts";
import { EXIT } from "../lib/core/mod.ts";
import { readHistory } from "../lib/job/mod.ts";
import { historyJson, historyLines } from "../lib/status/mod.ts";

const HELP = `Usage: grapheon-tool history [--limit N] [--json]

Lists upgrades and rollbacks, newest first: when, kind, from → to (backend /
frontend versions when they differ), result (completed, noop, rolled-back,
rollback-failed, failed, refused), how long it took, who started it (app request,
operator, recovery) and the message the web UI showed. Read from
<stateDir>/history.json (the newest 500 are kept).

Options:
  --limit N   entries shown (default 20; 0 for all)
  --json      {"entries": [...]} newest first, with exact image IDs

Exit codes: 0 listed (also when empty), 3 bad config.`;

/** The command's own options (main.ts parses them with the global ones). */
const OPTIONS = { limit: { type: "string" } } as const;

/** The `history` command. */
export const historyCommand: CommandSpec = {
  name: "history",
  options: OPTIONS,
  help: HELP,
  async run(ctx) {
    const { values } = parseCommandArgs("history", ctx.argv, OPTIONS);
    const limit = intFlag("limit", values.limit, 20);
    const { config } = await loadConfig(ctx.global.configPath);
    const { entries, warning } = await readHistory(config.stateDir);
    if (warning) ctx.log.warn(`history: ${warning}`);
    const shown = limit === 0 ? entries : entries.slice(-limit);
    printResult(ctx, historyLines(shown).join("\n"), {
      entries: shown.slice().reverse().map(historyJson),
      total: entries.length,
      warning: warning ?? null,
    });
    return EXIT.OK;
  },
};
