/**
 * Human text for `disko check` and `disko diff` (the JSON form is the data
 * itself). One block per finding or change: the class, the field path, the
 * message, and the fix or the reason.
 */
import { type Change, worstClass } from "./changes.ts";
import { countBySeverity, type Finding } from "./findings.ts";
import type { Evaluation } from "./load.ts";

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/** One line saying who evaluated a layout, and so whose defaults the rules saw. */
export function describeEvaluation(e: Evaluation): string {
  const recorded = e.via === "document" ? " (recorded layout document)" : "";
  if (e.by === "disko") {
    const where = e.via === "flake" ? " of the flake's NixOS configuration" : "";
    return `evaluated by disko${
      e.diskoVersion ? ` ${e.diskoVersion}` : ""
    }${where}: its own types and defaults${recorded}`;
  }
  if (e.by === "nix") {
    return `evaluated by Nix without disko: disko's defaults filled in by grapheon-tool${recorded}`;
  }
  return "read as JSON: defaults it lacks filled in by grapheon-tool as disko would";
}

/** Renders check findings for a terminal; `notes` go under the head line. */
export function renderFindings(
  title: string,
  findings: readonly Finding[],
  notes: readonly string[] = [],
): string {
  const c = countBySeverity(findings);
  const head = `${title}: ${plural(c.error, "error")}, ${
    plural(c.warning, "warning")
  }, ${c.info} info`;
  const lines = [head, ...notes];
  for (const f of findings) {
    lines.push("");
    lines.push(`${f.severity.padEnd(7)} ${f.rule}  ${f.path || "(layout)"}`);
    lines.push(`        ${f.message}`);
    lines.push(`        fix: ${f.fix}`);
  }
  if (findings.length === 0) lines.push("no problems found");
  return lines.join("\n");
}

/** Renders diff changes for a terminal; `notes` go under the head line. */
export function renderChanges(
  title: string,
  changes: readonly Change[],
  notes: readonly string[] = [],
): string {
  const worst = worstClass(changes);
  const lines = [
    `${title}: ${plural(changes.length, "change")}${worst ? `, worst: ${worst}` : ""}`,
    ...notes,
  ];
  for (const c of changes) {
    lines.push("");
    lines.push(`${c.class.padEnd(11)} ${c.path}  ${c.change}`);
    lines.push(`            why: ${c.why}`);
  }
  if (changes.length === 0) lines.push("no changes");
  return lines.join("\n");
}
