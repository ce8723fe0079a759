/** The public face of lib/status: what the rest of the tool uses of it. */
export { gatherStatusFacts } from "./facts.ts";
export { historyJson, historyLines, pairJson, pairText } from "./history_view.ts";
export {
  containerDataDir,
  detectProblems,
  PATH_UNIT,
  type Problem,
  type StatusFacts,
} from "./report.ts";
