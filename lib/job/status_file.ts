/**
 * `upgrade-status.json` in the data dir: what the app's UI polls every 5 s. It
 * understands only running, completed and failed, with steps 1–5, so every
 * write is atomic and complete. A symlink planted there is removed, never
 * followed; the tool adds its own fields (from_version, to_version, …).
 */
import { join } from "node:path";
import { z } from "zod";
import { parseAppVersion, parseJson } from "../core/mod.ts";
import {
  isNoSpace,
  lstatOrNull,
  readFileSafe,
  rewriteInPlace,
  writeFileAtomic,
} from "../host/mod.ts";
import type { Logger } from "../cli/mod.ts";

/** Largest status file read (the container can write anything there). */
export const MAX_STATUS_BYTES = 256 * 1024;
/** Deepest nesting accepted in it (the contract's document is 1 level deep). */
export const MAX_STATUS_DEPTH = 16;
/** Longest `message` kept from it. */
export const MAX_STATUS_MESSAGE = 4096;

/**
 * A version field read back from the container-writable file: a valid app version
 * (lib/app_version.ts, at most 64 chars), else null. Root copies these into its
 * journal and history, so nothing else may come through.
 */
const versionField = z.unknown().transform((v) =>
  typeof v === "string" ? parseAppVersion(v) as string | null : null
).optional();

/** The status file's name in the data dir. */
export const STATUS_FILE = "upgrade-status.json";

/** The statuses the UI understands (it shows anything else as unknown). */
export const statusValueSchema = z.enum(["running", "completed", "failed"]);

/** A status the UI understands. */
export type StatusValue = z.infer<typeof statusValueSchema>;

/** The status document (contract fields + the tool's own). */
export const statusSchema = z.looseObject({
  status: z.string(),
  message: z.string().transform((m) =>
    m.length > MAX_STATUS_MESSAGE ? `${m.slice(0, MAX_STATUS_MESSAGE)}…` : m
  ).optional(),
  step: z.number().int().min(0).max(5).optional(),
  total_steps: z.number().optional(),
  progress: z.number().optional(),
  updated_at: z.string().optional(),
  from_version: versionField,
  to_version: versionField,
  rolled_back: z.boolean().optional(),
  backup: z.string().nullish(),
});

/** A parsed status file. */
export type StatusDoc = z.infer<typeof statusSchema>;

/** What a writer supplies; progress, total_steps and updated_at are derived. */
export interface StatusUpdate {
  /** running, completed or failed. */
  status: StatusValue;
  /** Step 0–5 (0: not started). */
  step: number;
  /** A sentence for the UI. */
  message: string;
  /** The tool's own fields. */
  extra?: Record<string, unknown>;
}

/** Builds the document (pure): progress is step×20, 100 when completed. */
export function buildStatus(update: StatusUpdate, now: Date): StatusDoc {
  return {
    status: update.status,
    message: update.message,
    step: update.step,
    total_steps: 5,
    progress: update.status === "completed" ? 100 : update.step * 20,
    updated_at: now.toISOString(),
    ...update.extra,
  };
}

/** The status file path for a data dir. */
export function statusPath(dataDir: string): string {
  return join(dataDir, STATUS_FILE);
}

/** Writes the status atomically; a symlink in its place is removed first (its target untouched). */
export async function writeStatus(
  dataDir: string,
  doc: StatusDoc,
  log?: Logger,
): Promise<void> {
  const path = statusPath(dataDir);
  const info = await lstatOrNull(path);
  if (info && !info.isFile) {
    log?.warn(
      `${path} was a ${
        info.isSymlink ? "symlink" : "non-regular file"
      }; replacing it without following it`,
    );
    await Deno.remove(path, { recursive: false });
  }
  const text = JSON.stringify(doc, null, 2) + "\n";
  try {
    await writeFileAtomic(path, text, { mode: 0o644 });
  } catch (err) {
    // A full data dir must not leave the UI polling "running" forever.
    if (!isNoSpace(err) || !info?.isFile) throw err;
    log?.warn(`${path}: no room for a new status file; rewriting it in place`);
    await rewriteInPlace(path, text);
  }
}

/**
 * Reads the status file; null when absent; `{status:"error"}`-like when unparseable,
 * larger than MAX_STATUS_BYTES or nested deeper than MAX_STATUS_DEPTH. `from_version`
 * and `to_version` are valid app versions or null, `message` is bounded: safe for root
 * to copy into its journal and history as they are.
 */
export async function readStatus(dataDir: string): Promise<StatusDoc | null> {
  let text: string | null;
  try {
    text = await readFileSafe(statusPath(dataDir), { maxBytes: MAX_STATUS_BYTES });
  } catch (err) {
    return { status: "error", message: err instanceof Error ? err.message : String(err) };
  }
  if (text === null) return null;
  const parsed = parseJson(statusSchema, text, "status file", { maxDepth: MAX_STATUS_DEPTH });
  return parsed.ok ? parsed.value : { status: "error", message: parsed.error };
}
