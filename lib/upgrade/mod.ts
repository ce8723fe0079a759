/** The upgrade job: its run (with resume), its dry run, and the canary policy both share. */
export { upgrade, type UpgradeReport, upgradeReport, type UpgradeRun } from "./run.ts";
export { upgradeJson } from "./report.ts";
export { type DryRun, dryRunLines, dryRunSchema, planUpgrade } from "./dry_run.ts";
export { type CanaryPolicy, canaryPolicy } from "./canary_policy.ts";
export type { Target } from "./plan.ts";
