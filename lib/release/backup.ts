/**
 * Step 1: a consistent snapshot of the live SQLite database (`network.db`, WAL
 * mode) taken while the app runs, with SQLite's own `VACUUM INTO` through a
 * read-only connection, checked with `PRAGMA integrity_check`, into the tool's
 * own backups dir (root-only, out of the container's reach), keeping the last N.
 * Their order is the tool's own record (`order.json`, appended after each snapshot),
 * never file times: a clock that ran ahead must not make a new snapshot look old.
 * A temp file left by a run killed during `VACUUM INTO` is removed by the next one.
 */
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { ToolError } from "../core/mod.ts";
import { ensureDir, lstatOrNull, readFileSafe, writeFileAtomic } from "../host/mod.ts";

/** The record of snapshot names in the order they were taken, in the backups dir. */
export const ORDER_FILE = "order.json";
/** Names of the tool's temp files (`.<snapshot>.tmp-<pid>`) and SQLite's companions of them. */
const TEMP_NAME = /^\.network-[^/]*\.db\.tmp-\d+(-journal|-wal|-shm)?$/;

/** The database file the app uses in the data dir. */
export const DATABASE_FILE = "network.db";

/** Options for `backupDatabase`. */
export interface BackupOptions {
  /** Host data dir. */
  dataDir: string;
  /** Where snapshots go. */
  backupsDir: string;
  /** The version running now (part of the name). */
  fromVersion: string | null;
  /** Snapshots to keep (oldest removed). */
  keep: number;
  /** Timestamp for the name. */
  now: Date;
}

/** Result of a backup. */
export type BackupResult =
  | { kind: "snapshot"; path: string; bytes: number }
  | { kind: "no-database"; reason: string };

/** Checks a database file with `PRAGMA integrity_check`; returns "ok" or the problem. */
export function integrityCheck(path: string): string {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    const rows = db.prepare("PRAGMA integrity_check").all() as { integrity_check: string }[];
    return rows.map((r) => r.integrity_check).join("; ");
  } finally {
    db.close();
  }
}

/** Takes the snapshot; a data dir with no database is a `no-database` result, not an error. */
export async function backupDatabase(options: BackupOptions): Promise<BackupResult> {
  const source = join(options.dataDir, DATABASE_FILE);
  const info = await lstatOrNull(source);
  if (!info) return { kind: "no-database", reason: `${source} does not exist` };
  if (!info.isFile) {
    throw new ToolError(
      `${source}: is ${
        info.isSymlink ? "a symlink" : "not a regular file"
      }; refusing to back it up`,
    );
  }
  await ensureDir(options.backupsDir, 0o700);
  await removeStaleTemps(options.backupsDir);
  const stamp = options.now.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
  const name = `network-${options.fromVersion ?? "unknown"}-${stamp}.db`;
  const dest = join(options.backupsDir, name);
  const tmp = join(options.backupsDir, `.${name}.tmp-${Deno.pid}`);
  await Deno.remove(tmp).catch(() => {});
  try {
    const db = new DatabaseSync(source, { readOnly: true });
    try {
      db.prepare("VACUUM INTO ?").run(tmp);
    } finally {
      db.close();
    }
    // SQLite opens by path: make sure that path was the same regular file all along
    // (the data dir is the container's; a swapped-in symlink must not be backed up).
    const after = await lstatOrNull(source);
    if (!after?.isFile || after.ino !== info.ino || after.dev !== info.dev) {
      throw new ToolError(
        `${source}: was replaced while it was being backed up; refusing the snapshot`,
      );
    }
    const check = integrityCheck(tmp);
    if (check !== "ok") {
      throw new ToolError(`backup of ${source} failed its integrity check: ${check}`);
    }
    await Deno.chmod(tmp, 0o600);
    await Deno.rename(tmp, dest);
    await recordOrder(options.backupsDir, name);
  } catch (err) {
    await Deno.remove(tmp).catch(() => {});
    if (err instanceof ToolError) throw err;
    throw new ToolError(
      `backup of ${source} failed: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  await pruneBackups(options.backupsDir, options.keep);
  return { kind: "snapshot", path: dest, bytes: (await Deno.stat(dest)).size };
}

/**
 * Removes temp files of the tool's own naming (and their `-journal`) left by a run
 * killed mid-backup. Only one job runs at a time (the job lock), so none is in use.
 */
export async function removeStaleTemps(backupsDir: string): Promise<string[]> {
  const removed: string[] = [];
  for await (const e of Deno.readDir(backupsDir)) {
    if (!e.isFile || !TEMP_NAME.test(e.name)) continue;
    await Deno.remove(join(backupsDir, e.name)).then(() => removed.push(e.name), () => {});
  }
  return removed;
}

async function readOrder(backupsDir: string): Promise<string[]> {
  const text = await readFileSafe(join(backupsDir, ORDER_FILE), { maxBytes: 1024 * 1024 })
    .catch(() => null);
  if (text === null) return [];
  try {
    const raw = JSON.parse(text);
    return Array.isArray(raw) ? raw.filter((n): n is string => typeof n === "string") : [];
  } catch {
    return [];
  }
}

/** Appends `name` to the order record (atomic), dropping names whose file is gone. */
async function recordOrder(backupsDir: string, name: string): Promise<void> {
  const present = new Set((await scanBackups(backupsDir)).map((b) => b.name));
  const order = (await readOrder(backupsDir)).filter((n) => n !== name && present.has(n));
  order.push(name);
  await writeFileAtomic(join(backupsDir, ORDER_FILE), JSON.stringify(order) + "\n", {
    mode: 0o600,
  });
}

async function scanBackups(
  backupsDir: string,
): Promise<{ name: string; path: string; bytes: number; mtime: Date | null }[]> {
  const out = [];
  try {
    for await (const e of Deno.readDir(backupsDir)) {
      if (!e.isFile || !/^network-.*\.db$/.test(e.name)) continue;
      const st = await Deno.stat(join(backupsDir, e.name));
      out.push({ name: e.name, path: join(backupsDir, e.name), bytes: st.size, mtime: st.mtime });
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  return out;
}

/**
 * Lists snapshots, oldest first, in the order the tool recorded taking them;
 * snapshots it has no record of (older tool versions, copied in by hand) come
 * first, by file time then name.
 */
export async function listBackups(
  backupsDir: string,
): Promise<{ name: string; path: string; bytes: number; mtime: Date | null }[]> {
  const all = await scanBackups(backupsDir);
  const rank = new Map((await readOrder(backupsDir)).map((n, i) => [n, i]));
  return all.sort((a, b) => {
    const ra = rank.get(a.name), rb = rank.get(b.name);
    if (ra !== undefined && rb !== undefined) return ra - rb;
    if (ra !== undefined) return 1;
    if (rb !== undefined) return -1;
    return (a.mtime?.getTime() ?? 0) - (b.mtime?.getTime() ?? 0) || a.name.localeCompare(b.name);
  });
}

async function pruneBackups(dir: string, keep: number): Promise<void> {
  const all = await listBackups(dir);
  for (const b of all.slice(0, Math.max(0, all.length - keep))) {
    await Deno.remove(b.path).catch(() => {});
  }
}
