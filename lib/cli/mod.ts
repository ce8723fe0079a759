/** The public face of lib/cli: what the rest of the tool uses of it. */
export {
  type CommandContext,
  type CommandSpec,
  durationFlag,
  type GlobalOptions,
  intFlag,
  jsonText,
  parseCommandArgs,
  printResult,
  versionFlag,
} from "./command.ts";
export { confirm } from "./confirm.ts";
export { onStopSignals, STOP_SIGNALS } from "./stop_signals.ts";
export {
  type ErrorJson,
  type HistoryEntryJson,
  type PairJson,
  type RollbackOutcomeJson,
  type UpgradeJson,
} from "./json_outputs.ts";
export { createLogger, defaultFormat, type Logger } from "./log.ts";
