/**
 * The history of upgrades and rollbacks (from → to, result, duration, who), kept
 * in the state dir as one JSON document written atomically, newest last, capped.
 * `rollback` reads the exact image IDs of earlier releases from it.
 */
import { join } from "node:path";
import { z } from "zod";
import { parseJson } from "../core/mod.ts";
import { readFileSafe, writeFileAtomic } from "../host/mod.ts";
import { type Journal, pairSchema } from "./journal.ts";
import { RESULTS } from "./outcome.ts";

/** One history entry. */
export const historyEntrySchema = z.object({
  id: z.string(),
  kind: z.enum(["upgrade", "rollback"]),
  trigger: z.enum(["request", "operator", "recovery"]),
  from: pairSchema,
  to: pairSchema,
  result: z.enum(RESULTS),
  message: z.string(),
  startedAt: z.string(),
  finishedAt: z.string(),
  durationMs: z.number(),
  backup: z.string().nullable(),
});

/** One entry. */
export type HistoryEntry = z.infer<typeof historyEntrySchema>;

const MAX_ENTRIES = 500;
const MAX_MESSAGE = 4096;

/** The history file's path. */
export function historyPath(stateDir: string): string {
  return join(stateDir, "history.json");
}

/** Reads the history, oldest first; an unreadable file is an empty history plus a warning string. */
export async function readHistory(
  stateDir: string,
): Promise<{ entries: HistoryEntry[]; warning?: string }> {
  const path = historyPath(stateDir);
  let text: string | null;
  try {
    text = await readFileSafe(path, { maxBytes: 16 * 1024 * 1024 });
  } catch (err) {
    return { entries: [], warning: err instanceof Error ? err.message : String(err) };
  }
  if (text === null) return { entries: [] };
  const parsed = parseJson(z.array(historyEntrySchema), text, path);
  return parsed.ok ? { entries: parsed.value } : { entries: [], warning: parsed.error };
}

/**
 * Appends an entry (atomic rewrite, capped at the newest 500). An entry whose id
 * is already there is not added twice (a finish redone after a crash). An
 * unreadable history file is moved aside first, never overwritten.
 */
export async function appendHistory(stateDir: string, entry: HistoryEntry): Promise<void> {
  const { entries, warning } = await readHistory(stateDir);
  if (warning) {
    const path = historyPath(stateDir);
    await Deno.rename(path, `${path}.unreadable-${new Date().toISOString().replace(/[:.]/g, "-")}`);
  }
  if (entries.some((e) => e.id === entry.id)) return;
  entries.push(entry);
  const kept = entries.slice(-MAX_ENTRIES);
  await writeFileAtomic(historyPath(stateDir), JSON.stringify(kept, null, 2) + "\n", {
    mode: 0o600,
  });
}

/** The history entry of a finished job (pure). */
export function entryFromJournal(
  journal: Journal,
  end: { result: HistoryEntry["result"]; message: string; finishedAt: Date; durationMs: number },
): HistoryEntry {
  return {
    id: journal.id,
    kind: journal.kind,
    trigger: journal.trigger,
    from: journal.from,
    to: journal.to,
    result: end.result,
    // Messages quote others' text (container logs, request errors): bounded like the status file's.
    message: end.message.length > MAX_MESSAGE
      ? `${end.message.slice(0, MAX_MESSAGE)}…`
      : end.message,
    startedAt: journal.startedAt,
    finishedAt: end.finishedAt.toISOString(),
    durationMs: end.durationMs,
    backup: journal.backup,
  };
}
