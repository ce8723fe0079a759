/**
 * Whether the canary runs: one decision, shared by the upgrade and its dry run
 * (tests/upgrade/canary_policy_test.ts holds them to the same answer).
 */
import type { Host } from "../host/mod.ts";
import { canaryUnavailable } from "../release/mod.ts";

/** The canary runs, or why not. */
export type CanaryPolicy = { run: true } | { run: false; reason: string };

/** Decides from the run's flag (`--no-canary` → false), the config and the host. */
export function canaryPolicy(host: Host, wanted: boolean): CanaryPolicy {
  if (!wanted) return { run: false, reason: "turned off (--no-canary)" };
  if (!host.config.canary.enabled) return { run: false, reason: "turned off (canary.enabled)" };
  const unavailable = canaryUnavailable(host);
  return unavailable === null ? { run: true } : { run: false, reason: unavailable };
}
