/**
 * How history entries are shown (pure): one line per upgrade or rollback for
 * people, and a stable snake_case JSON form for scripts (`history --json`,
 * `status --json`).
 */
import { formatDuration } from "../core/mod.ts";
import type { HistoryEntry, ReleasePair } from "../job/mod.ts";
import type { HistoryEntryJson, PairJson } from "../cli/mod.ts";

/** Who started a job, in words. */
export function who(trigger: HistoryEntry["trigger"]): HistoryEntryJson["who"] {
  switch (trigger) {
    case "request":
      return "app request";
    case "operator":
      return "operator";
    case "recovery":
      return "recovery";
  }
}

/**
 * A release pair in words: `0.3.0`, or `backend 0.3.0 / frontend 0.2.9` when they differ; a
 * release of unknown version (an image seeded from `:latest`) by its short image ID.
 */
export function pairText(pair: ReleasePair): string {
  const text = (r: ReleasePair["backend"]) =>
    r.version ?? (r.imageId ? `image ${r.imageId.slice(0, 12)}` : "?");
  const b = text(pair.backend);
  const f = text(pair.frontend);
  return b === f && pair.backend.version !== null ? b : `backend ${b} / frontend ${f}`;
}

/** The JSON form of a release pair: `{backend: {version, image_id}, frontend: {…}}`. */
export function pairJson(p: ReleasePair): PairJson {
  return {
    backend: { version: p.backend.version, image_id: p.backend.imageId },
    frontend: { version: p.frontend.version, image_id: p.frontend.imageId },
  };
}

/** The JSON form of one entry. */
export function historyJson(e: HistoryEntry): HistoryEntryJson {
  const pair = pairJson;
  return {
    id: e.id,
    kind: e.kind,
    trigger: e.trigger,
    who: who(e.trigger),
    from: pair(e.from),
    to: pair(e.to),
    result: e.result,
    message: e.message,
    started_at: e.startedAt,
    finished_at: e.finishedAt,
    duration_ms: e.durationMs,
    backup: e.backup,
  };
}

/** Human lines, newest first: a header, then one line per entry and its message indented. */
export function historyLines(entries: readonly HistoryEntry[], withMessages = true): string[] {
  if (entries.length === 0) return ["no upgrades or rollbacks recorded yet"];
  const rows = entries.slice().reverse().map((e) => [
    e.startedAt.replace(/\.\d+Z$/, "Z"),
    e.kind,
    `${pairText(e.from)} → ${pairText(e.to)}`,
    e.result,
    formatDuration(e.durationMs),
    who(e.trigger),
  ]);
  const head = ["STARTED", "KIND", "FROM → TO", "RESULT", "TOOK", "WHO"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd();
  const out = [line(head)];
  entries.slice().reverse().forEach((e, i) => {
    out.push(line(rows[i]));
    if (withMessages && e.message) out.push(`    ${e.message}`);
  });
  return out;
}
