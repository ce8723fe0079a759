/** The public face of lib/rollback: what the rest of the tool uses of it. */
export { clearStale } from "./clear_stale.ts";
export { runRollback } from "./job.ts";
export { prepareRollback, type RollbackPlan } from "./prepare.ts";
