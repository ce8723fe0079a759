/**
 * The upgrade request the app writes (`upgrade-requested` in the data dir):
 * the app's JSON, a bare version, or an empty file. Read without following
 * symlinks, capped in size, every version validated. Handled requests are
 * archived in the tool's state dir, never left to re-trigger the `.path` unit.
 */
import { join } from "node:path";
import { z } from "zod";
import {
  type AppVersion,
  errorMessage,
  InputError,
  parseAppVersion,
  parseJson,
} from "../core/mod.ts";
import { ensureDir, readFileSafe, writeFileAtomic } from "../host/mod.ts";

/** The request's file name in the data dir. */
export const REQUEST_FILE = "upgrade-requested";
/** Larger requests are refused. */
export const REQUEST_MAX_BYTES = 64 * 1024;

/** The app's request JSON (contract); unknown fields are ignored. */
export const appRequestSchema = z.looseObject({
  requested_at: z.string().optional(),
  current_version: z.string().nullish(),
  target_version: z.string().nullish(),
  target_backend_version: z.string().nullish(),
  target_frontend_version: z.string().nullish(),
});

/** A validated request. */
export interface UpgradeRequest {
  /** Backend version to run. */
  backend: AppVersion;
  /** Frontend version to run. */
  frontend: AppVersion;
  /** When the app wrote it, if it said. */
  requestedAt?: string;
  /** The raw text, to tell later whether the file was replaced meanwhile. */
  raw: string;
}

function version(path: string, fieldName: string, value: string): AppVersion {
  const v = parseAppVersion(value);
  if (!v) {
    throw new InputError(
      `${path}: field ${fieldName}: expected a version X.Y.Z (optional -pre), got ${
        JSON.stringify(value.slice(0, 40))
      }`,
    );
  }
  return v;
}

/** Parses request text (pure); throws InputError naming the file and field. */
export function parseRequest(text: string, path: string): UpgradeRequest {
  const trimmed = text.trim();
  if (trimmed === "") throw new InputError(`${path}: empty request: no target version`);
  if (!trimmed.startsWith("{")) {
    return {
      backend: version(path, "version", trimmed),
      frontend: version(path, "version", trimmed),
      raw: text,
    };
  }
  const parsed = parseJson(appRequestSchema, trimmed, path);
  if (!parsed.ok) {
    throw new InputError(
      parsed.error.replace(/: not valid JSON\b/, ": not valid JSON and not a bare version"),
    );
  }
  const r = parsed.value;
  const pick = (which: "backend" | "frontend"): AppVersion => {
    const own = `target_${which}_version` as const;
    const text = r[own] ?? r.target_version;
    if (!text) throw new InputError(`${path}: field ${own}: missing (and no target_version)`);
    return version(path, r[own] ? own : "target_version", text);
  };
  return {
    backend: pick("backend"),
    frontend: pick("frontend"),
    requestedAt: r.requested_at,
    raw: text,
  };
}

/** The request's path for a data dir. */
export function requestPath(dataDir: string): string {
  return join(dataDir, REQUEST_FILE);
}

/** Reads the raw request text (null when there is none); refuses symlinks, odd files, oversize files. */
export function readRequestText(dataDir: string): Promise<string | null> {
  return readFileSafe(requestPath(dataDir), { maxBytes: REQUEST_MAX_BYTES });
}

/** Options for `archiveRequest`. */
export interface ArchiveOptions {
  /** The host data dir holding the request. */
  dataDir: string;
  /** The tool's state dir (archive goes to `requests/` in it). */
  stateDir: string;
  /** A short outcome word for the archived name (`completed`, `failed`, `invalid`). */
  outcome: string;
  /** Archive only if the file still has this text (a newer request is left in place). */
  expectText?: string;
  /** Timestamp for the name. */
  now: Date;
}

/** What `archiveRequest` did. */
export type ArchiveResult =
  | { kind: "none" }
  | { kind: "archived"; path: string }
  | { kind: "moved-aside"; path: string; what: string }
  | { kind: "kept-aside"; path: string; reason: string }
  | { kind: "replaced" };

/**
 * Takes the request out of the data dir, so the `.path` unit cannot fire again
 * for it, and keeps a copy in `<stateDir>/requests/` for the operator. The entry
 * is first renamed to a private name (one atomic step: a request the app writes
 * meanwhile is a new file, never deleted). A symlink, directory or other odd
 * entry is left renamed aside in the data dir, never followed or recursed into.
 * A newer request than `expectText` is put back for the next run.
 */
export async function archiveRequest(options: ArchiveOptions): Promise<ArchiveResult> {
  const path = requestPath(options.dataDir);
  const stamp = options.now.toISOString().replace(/[:.]/g, "-");
  const taken = join(options.dataDir, `.${REQUEST_FILE}.${stamp}.${options.outcome}`);
  try {
    await Deno.rename(path, taken);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return { kind: "none" };
    throw err;
  }
  const info = await Deno.lstat(taken);
  if (!info.isFile) {
    const what = info.isSymlink
      ? "a symlink"
      : info.isDirectory
      ? "a directory"
      : "not a regular file";
    return { kind: "moved-aside", path: taken, what };
  }
  let text: string | null;
  try {
    text = await readFileSafe(taken, { maxBytes: REQUEST_MAX_BYTES });
  } catch {
    text = null; // oversize: archive a note
  }
  if (options.expectText !== undefined && text !== null && text !== options.expectText) {
    try {
      await Deno.link(taken, path); // no-clobber: an even newer request wins
      await Deno.remove(taken);
      return { kind: "replaced" };
    } catch (err) {
      if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
    }
  }
  try {
    const dest = await keepInArchive(options.stateDir, `${stamp}.${options.outcome}`, text);
    await Deno.remove(taken);
    return { kind: "archived", path: dest };
  } catch (err) {
    // The state dir is full or gone: the request stays, under its private name (so the
    // .path unit does not fire again), and the next run archives it (archiveLeftovers).
    return { kind: "kept-aside", path: taken, reason: errorMessage(err) };
  }
}

async function keepInArchive(stateDir: string, suffix: string, text: string | null) {
  const dir = join(stateDir, "requests");
  await ensureDir(dir, 0o700);
  const dest = join(dir, `${REQUEST_FILE}.${suffix}`);
  await writeFileAtomic(dest, text ?? "(unreadable or over 64 KiB)\n", { mode: 0o600 });
  await pruneArchive(dir, 50);
  return dest;
}

/**
 * Archives requests an earlier run took out of the data dir but could not
 * archive (`kept-aside`): regular files of the tool's own private naming only.
 * Returns the archived paths; a failure leaves the file for the run after.
 */
export async function archiveLeftovers(dataDir: string, stateDir: string): Promise<string[]> {
  const done: string[] = [];
  const prefix = `.${REQUEST_FILE}.`;
  for await (const e of Deno.readDir(dataDir)) {
    if (!e.isFile || !e.name.startsWith(prefix)) continue;
    const path = join(dataDir, e.name);
    let text: string | null;
    try {
      text = await readFileSafe(path, { maxBytes: REQUEST_MAX_BYTES });
    } catch {
      text = null;
    }
    try {
      done.push(await keepInArchive(stateDir, e.name.slice(prefix.length), text));
      await Deno.remove(path);
    } catch {
      // still no room: left for the next run
    }
  }
  return done;
}

async function pruneArchive(dir: string, keep: number): Promise<void> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) if (e.isFile) names.push(e.name);
  names.sort();
  for (const name of names.slice(0, Math.max(0, names.length - keep))) {
    await Deno.remove(join(dir, name)).catch(() => {});
  }
}

/** Writes a request exactly as the app does (for `grapheon-tool request`). */
export async function writeRequest(
  dataDir: string,
  target: { backend: AppVersion; frontend: AppVersion; current?: string; now: Date },
): Promise<string> {
  const body = {
    requested_at: target.now.toISOString(),
    current_version: target.current ?? null,
    target_version: target.backend,
    target_backend_version: target.backend,
    target_frontend_version: target.frontend,
  };
  const path = requestPath(dataDir);
  await writeFileAtomic(path, JSON.stringify(body), { mode: 0o644 });
  return path;
}
