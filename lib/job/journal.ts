/**
 * The upgrade journal: the plan and the phase reached, written atomically to the
 * state dir before each phase, so that a run killed at any point (SIGKILL, power
 * loss) is finished by the next run. Shared by `upgrade`, `rollback` and `status`.
 */
import { join } from "node:path";
import { z } from "zod";
import { errorMessage, parseJson } from "../core/mod.ts";
import { readFileSafe, writeFileAtomic } from "../host/mod.ts";
import { outcomeSchema } from "./outcome.ts";
import { PHASES } from "./progress.ts";

/** A release of one component: version and exact image ID. */
export const releaseSchema = z.object({
  // Bounded: a version can come from container-writable files (the status file).
  version: z.string().max(64).nullable(),
  imageId: z.string().nullable(),
});

/** Backend + frontend releases. */
export const pairSchema = z.object({ backend: releaseSchema, frontend: releaseSchema });

/** The journal document. */
export const journalSchema = z.object({
  id: z.string(),
  kind: z.enum(["upgrade", "rollback"]),
  trigger: z.enum(["request", "operator", "recovery"]),
  startedAt: z.string(),
  attempts: z.number().int().min(1),
  phase: z.enum(PHASES),
  from: pairSchema,
  to: pairSchema,
  /** The request text this job serves, to archive exactly that one. */
  requestText: z.string().nullable(),
  backup: z.string().nullable(),
  /** Why a rollback started. */
  failure: z.string().nullable(),
  /** Set with phase `finishing`: the outcome being recorded. */
  outcome: outcomeSchema.nullish(),
});

/** The journal. */
export type Journal = z.infer<typeof journalSchema>;
/** One release. */
export type Release = z.infer<typeof releaseSchema>;
/** Backend + frontend releases. */
export type ReleasePair = z.infer<typeof pairSchema>;

/** The journal's path. */
export function journalPath(stateDir: string): string {
  return join(stateDir, "journal.json");
}

/** Reads the journal; null when none. A corrupt journal is reported, not trusted. */
export async function readJournal(stateDir: string): Promise<Journal | { corrupt: string } | null> {
  let text: string | null;
  try {
    text = await readFileSafe(journalPath(stateDir), { maxBytes: 1024 * 1024 });
  } catch (err) {
    return { corrupt: errorMessage(err) };
  }
  if (text === null) return null;
  const parsed = parseJson(journalSchema, text, journalPath(stateDir));
  return parsed.ok ? parsed.value : { corrupt: parsed.error };
}

/** Writes the journal atomically (root-only). */
export async function writeJournal(stateDir: string, journal: Journal): Promise<void> {
  await writeFileAtomic(journalPath(stateDir), JSON.stringify(journal, null, 2) + "\n", {
    mode: 0o600,
  });
}

/** Removes the journal once the job is recorded in history. */
export async function clearJournal(stateDir: string): Promise<void> {
  await Deno.remove(journalPath(stateDir)).catch((err) => {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  });
}
