/**
 * `upgrade-status.json` in the data dir: what the app's UI polls every 5 s. It
 * understands only running, completed and failed, with steps 1–5, so every
 * write is atomic and complete. A symlink planted there is removed, never
 * followed; the tool adds its own fields (from_version, to_version, …).
 */
import { join } from "node:path";
import { z } from "zod";
import { parseAppVersion } from "./app_version.ts";
import { lstatOrNull, readFileSafe, writeFileAtomic } from "./files.ts";
import type { Logger } from "./log.ts";
import { depthExceeds } from "./untrusted_text.ts";

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

/** The UI's labels for steps 1–5, in order. */
export const STEP_LABELS = [
  "Backing up data",
  "Pulling backend container",
  "Pulling frontend container",
  "Restarting services",
  "Running health check",
] as const;

/** Statuses the UI understands. */
export type StatusValue = "running" | "completed" | "failed";

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
  await writeFileAtomic(path, JSON.stringify(doc, null, 2) + "\n", { mode: 0o644 });
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
  try {
    const raw: unknown = JSON.parse(text);
    if (depthExceeds(raw, MAX_STATUS_DEPTH)) {
      return {
        status: "error",
        message: `status file nests deeper than ${MAX_STATUS_DEPTH} levels`,
      };
    }
    const parsed = statusSchema.safeParse(raw);
    return parsed.success
      ? parsed.data
      : { status: "error", message: "status file has an unexpected shape" };
  } catch {
    return { status: "error", message: "status file is not valid JSON" };
  }
}
