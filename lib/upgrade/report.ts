/** The `upgrade --json` document and its one-line human form, from a run's report (pure). */
import type { UpgradeJson } from "../cli/mod.ts";
import { exitFor, phaseTimings } from "../job/mod.ts";
import { pairJson } from "../status/mod.ts";
import type { UpgradeReport } from "./run.ts";

/** The document. `changed`: what runs is not what ran before (a completed upgrade). */
export function upgradeJson(report: UpgradeReport): UpgradeJson {
  const { outcome, job } = report;
  return {
    result: outcome?.result ?? "idle",
    changed: outcome?.result === "completed",
    rolled_back: outcome?.result === "rolled-back",
    exit_code: exitFor(outcome),
    message: outcome?.message ?? "nothing to do",
    cause: outcome?.cause ?? null,
    job_id: job?.journal.id ?? null,
    resumed: job?.resumed ?? false,
    from: job ? pairJson(job.journal.from) : null,
    to: job ? pairJson(job.journal.to) : null,
    duration_ms: job ? Math.round(job.host.clock.monotonic() - job.startedMono) : 0,
    phases_ms: job ? phaseTimings(job) : {},
  };
}
