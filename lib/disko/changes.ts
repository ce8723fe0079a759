/**
 * What a diff reports: each change with its class and why. `safe` is applied
 * (by disko creating what is missing, or by nixos-rebuild); `not-applied`
 * means disko leaves the existing disk as it is (it only creates what looks
 * missing), so the configuration and the disk disagree; `destructive` renames,
 * retypes, reformats or moves data. The worst class sets the exit code.
 */
import { EXIT, type ExitCode } from "../core/exit_codes.ts";

/** How a change affects an existing host. */
export type ChangeClass = "safe" | "not-applied" | "destructive";

/** One classified change. */
export interface Change {
  /** Class. */
  class: ChangeClass;
  /** Field path inside `disko.devices`. */
  path: string;
  /** What changed (old → new). */
  change: string;
  /** Why it has this class. */
  why: string;
}

const RANK: Record<ChangeClass, number> = { safe: 0, "not-applied": 1, destructive: 2 };

/** The worst class of a list, or null when there are no changes. */
export function worstClass(changes: readonly Change[]): ChangeClass | null {
  let worst: ChangeClass | null = null;
  for (const c of changes) if (worst === null || RANK[c.class] > RANK[worst]) worst = c.class;
  return worst;
}

/** The exit code for a diff: 10 destructive, 9 not applied, 0 safe or nothing. */
export function diffExitCode(changes: readonly Change[]): ExitCode {
  const worst = worstClass(changes);
  if (worst === "destructive") return EXIT.DESTRUCTIVE;
  if (worst === "not-applied") return EXIT.NOT_APPLIED;
  return EXIT.OK;
}

/** Sorts changes: worst first, then by path. */
export function sortChanges(changes: Change[]): Change[] {
  return [...changes].sort((a, b) => RANK[b.class] - RANK[a.class] || a.path.localeCompare(b.path));
}

/** Short text of a value for `change`. */
export function show(value: unknown): string {
  if (value === undefined) return "(unset)";
  return JSON.stringify(value);
}
