/**
 * The switch guard's decision (`disko guard SYSTEM ACTION`, run by NixOS's
 * `system.preSwitchChecks.grapheon-disko` before a new system is activated):
 * the incoming system's layout against the running machine (`diff --live`).
 * A change disko would not apply, or a destructive one, refuses the switch with
 * the reasons, unless the same change is already there with the current system
 * (known drift, reported, not new) or an operator overrides it explicitly;
 * `dry-activate` and `check` report what would be refused and never refuse. A
 * guard that cannot check (unreadable layout, lsblk failing) refuses too:
 * failing open would let the one switch it exists for through. Pure.
 */
import { type Change, diffExitCode, worstClass } from "./changes.ts";
import { EXIT } from "../core/exit_codes.ts";

/** switch-to-configuration's actions that only report (its `check` and `dry-activate`). */
export const REPORT_ONLY_ACTIONS: ReadonlySet<string> = new Set(["dry-activate", "check"]);

/** An operator's explicit permission to go ahead. */
export interface Override {
  /** Where it came from: the override file's path or the environment variable. */
  source: string;
  /** The reason the operator wrote into the file, if any (sanitised). */
  reason: string | null;
}

/** What the guard saw. */
export interface GuardInput {
  /** The action switch-to-configuration was given. */
  action: string;
  /** The incoming layout's live changes, or null when they could not be computed. */
  changes: readonly Change[] | null;
  /** Why the check could not be made (with `changes` null). */
  error?: string;
  /** Keys (see changeKey) of the changes the current system's layout already has. */
  known: ReadonlySet<string>;
  /** An override, if any. */
  override: Override | null;
}

/** What the guard does. */
export interface GuardDecision {
  /** pass: nothing to refuse; refuse; override: refused but overridden; report: would refuse (report-only action). */
  verdict: "pass" | "refuse" | "override" | "report";
  /** The exit code of `disko guard`. */
  exit: number;
  /** Changes that would refuse the switch. */
  blocking: Change[];
  /** Not-applied/destructive changes already there with the current system. */
  known: Change[];
  /** Whether a file override was used up (it is removed after one switch). */
  consumeOverride: boolean;
}

/** Identity of a change across two diffs of the same machine. */
export function changeKey(c: Change): string {
  return `${c.class}\u0000${c.path}\u0000${c.change}`;
}

/** Decides what the guard does. */
export function decideGuard(input: GuardInput): GuardDecision {
  const risky = (input.changes ?? []).filter((c) => c.class !== "safe");
  const blocking = risky.filter((c) => !input.known.has(changeKey(c)));
  const known = risky.filter((c) => input.known.has(changeKey(c)));
  const problem = input.changes === null || blocking.length > 0;
  const exit = input.changes === null ? EXIT.FAILURE : diffExitCode(blocking);
  const base = { blocking, known, consumeOverride: false };
  if (!problem) return { ...base, verdict: "pass", exit: EXIT.OK };
  if (REPORT_ONLY_ACTIONS.has(input.action)) return { ...base, verdict: "report", exit: EXIT.OK };
  if (input.override) {
    const consumeOverride = input.override.source !== OVERRIDE_ENV;
    return { ...base, verdict: "override", exit: EXIT.OK, consumeOverride };
  }
  return { ...base, verdict: "refuse", exit };
}

/** The environment variable that overrides the guard for one run. */
export const OVERRIDE_ENV = "GRAPHEON_DISKO_OVERRIDE";

/** Human lines for the decision (the changes themselves are rendered by the caller). */
export function guardSummary(
  input: GuardInput & { system: string; overrideFile: string },
  d: GuardDecision,
): string {
  const worst = worstClass(d.blocking);
  const what = input.changes === null
    ? `could not be checked: ${input.error ?? "unknown error"}`
    : d.blocking.length
    ? `changes the disks (${d.blocking.length} change(s), worst: ${worst})`
    : "matches the disks (no change disko would not apply)";
  const head = `grapheon-disko: ${input.action} to ${input.system}: the layout ${what}`;
  const how =
    `make the layout match the disk, or override once: touch ${input.overrideFile} (or ${OVERRIDE_ENV}=1) and switch again`;
  switch (d.verdict) {
    case "pass":
      return [
        head,
        ...(d.known.length ? [`${d.known.length} known difference(s) already there before`] : []),
      ].join("\n");
    case "report":
      return `${head}\ngrapheon-disko: a switch would be refused (${input.action} only reports); ${how}`;
    case "override":
      return `${head}\ngrapheon-disko: OVERRIDDEN by ${input.override!.source}${
        input.override!.reason ? ` (${input.override!.reason})` : ""
      }: the switch goes ahead`;
    case "refuse":
      return `${head}\ngrapheon-disko: switch REFUSED before activation; ${how}`;
  }
}
