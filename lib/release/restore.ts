/**
 * Putting a database snapshot back (`rollback --restore-data`). The app applies
 * schema changes at start-up and has no downgrade path, so going back across a
 * schema change is only safe with the snapshot taken before the upgrade.
 * The current `network.db` (with its `-wal` and `-shm`) is moved aside into
 * `<dataDir>/before-restore-<stamp>/`, never deleted; the snapshot is copied in
 * atomically with the old file's owner and mode, and checked byte for byte.
 * Nothing here follows a symlink: a planted link makes the restore refuse.
 */
import { basename, dirname, join } from "node:path";
import { DATABASE_FILE, integrityCheck, listBackups } from "./backup.ts";
import { InputError, ToolError } from "../core/mod.ts";
import { lstatOrNull, syncDir } from "../host/mod.ts";

/** The files of the live database, in the order they are moved aside. */
export const DATABASE_FILES = [
  DATABASE_FILE,
  `${DATABASE_FILE}-wal`,
  `${DATABASE_FILE}-shm`,
] as const;

/** One of them. */
export type DatabaseFile = (typeof DATABASE_FILES)[number];

const SNAPSHOT_NAME = /^network-[A-Za-z0-9._-]+\.db$/;

/** A snapshot chosen for a restore. */
export interface Snapshot {
  /** File name in the backups dir. */
  name: string;
  /** Full path. */
  path: string;
  /** Size in bytes. */
  bytes: number;
}

/**
 * Resolves `--restore-data` (`latest`, a snapshot name, or a path in the
 * backups dir) to an existing regular file; InputError (exit 4) otherwise.
 */
export async function resolveSnapshot(backupsDir: string, spec: string): Promise<Snapshot> {
  const all = await listBackups(backupsDir);
  if (spec === "latest") {
    const newest = all.at(-1);
    if (!newest) throw new InputError(`--restore-data latest: no snapshots in ${backupsDir}`);
    return { name: newest.name, path: newest.path, bytes: newest.bytes };
  }
  if (spec.includes("/") && dirname(spec) !== backupsDir) {
    throw new InputError(
      `--restore-data: ${spec} is not in ${backupsDir}; give a snapshot name from 'grapheon-tool status'`,
    );
  }
  const name = basename(spec);
  if (!SNAPSHOT_NAME.test(name)) {
    throw new InputError(
      `--restore-data: "${
        spec.slice(0, 80)
      }" is not a snapshot name (network-<version>-<stamp>.db, or latest)`,
    );
  }
  const path = join(backupsDir, name);
  const info = await lstatOrNull(path);
  if (!info || !info.isFile) {
    const known = all.map((b) => b.name).join(", ") || "none";
    throw new InputError(
      `--restore-data: no snapshot ${name} in ${backupsDir}${
        info?.isSymlink ? " (it is a symlink)" : ""
      } (snapshots: ${known})`,
    );
  }
  return { name, path, bytes: info.size };
}

/** Refuses (before anything is stopped) a data dir whose database files are links or odd files. */
export async function checkRestorable(dataDir: string, snapshot: Snapshot): Promise<void> {
  for (const name of DATABASE_FILES) {
    const info = await lstatOrNull(join(dataDir, name));
    if (info && !info.isFile) {
      throw new ToolError(
        `${join(dataDir, name)} is ${
          info.isSymlink ? "a symlink" : "not a regular file"
        }; refusing to restore over it (nothing was changed)`,
      );
    }
  }
  let check: string;
  try {
    check = integrityCheck(snapshot.path);
  } catch (err) {
    check = err instanceof Error ? err.message : String(err); // "file is not a database"
  }
  if (check !== "ok") {
    throw new InputError(`${snapshot.path}: fails PRAGMA integrity_check: ${check}`);
  }
}

/** What a restore did. */
export interface RestoreResult {
  /** Where the previous database files are now. */
  asideDir: string;
  /** The files moved aside (names). */
  moved: DatabaseFile[];
  /** SHA-256 of the snapshot, equal to that of the restored file. */
  sha256: string;
  /** Bytes restored. */
  bytes: number;
}

/** SHA-256 of a file, hex. */
export async function sha256File(path: string): Promise<string> {
  const data = await Deno.readFile(path);
  const digest = await crypto.subtle.digest("SHA-256", data);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function makeAsideDir(dataDir: string, now: Date): Promise<string> {
  const stamp = now.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
  for (let i = 0; i < 100; i++) {
    const dir = join(dataDir, `before-restore-${stamp}${i ? `-${i}` : ""}`);
    try {
      await Deno.mkdir(dir, { mode: 0o700 }); // not recursive: fails if it exists (or is a link)
      return dir;
    } catch (err) {
      if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
    }
  }
  throw new ToolError(`cannot create a before-restore directory in ${dataDir}`);
}

/**
 * Moves the live database aside and copies the snapshot in. The backend must
 * be stopped. On a failure after the move, the message says where the old
 * files are; they are never removed.
 */
export async function restoreDatabase(options: {
  /** Host data dir. */
  dataDir: string;
  /** The snapshot to put in place. */
  snapshot: Snapshot;
  /** Timestamp for the aside directory. */
  now: Date;
}): Promise<RestoreResult> {
  const { dataDir, snapshot } = options;
  const live = join(dataDir, DATABASE_FILE);
  const old = await lstatOrNull(live);
  const dirInfo = await Deno.stat(dataDir);
  const owner = { uid: old?.uid ?? dirInfo.uid, gid: old?.gid ?? dirInfo.gid };
  const mode = old?.mode != null ? old.mode & 0o777 : 0o644;
  // The copy is made first, so that the database is missing only between two renames: a
  // run killed at any point leaves either the old files or the snapshot in place.
  const tmp = join(
    dataDir,
    `.${DATABASE_FILE}.restore-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`,
  );
  try {
    const data = await Deno.readFile(snapshot.path);
    const file = await Deno.open(tmp, { write: true, createNew: true, mode });
    try {
      let written = 0;
      while (written < data.length) written += await file.write(data.subarray(written));
      await file.sync();
    } finally {
      file.close();
    }
    await Deno.chmod(tmp, mode);
    if (Deno.uid() === 0) await Deno.chown(tmp, owner.uid, owner.gid);
  } catch (err) {
    await Deno.remove(tmp).catch(() => {});
    throw new ToolError(
      `copying ${snapshot.name} into ${dataDir} failed: ${
        err instanceof Error ? err.message : String(err)
      }; nothing was changed`,
    );
  }
  let asideDir = "";
  const moved: DatabaseFile[] = [];
  try {
    asideDir = await makeAsideDir(dataDir, options.now);
    for (const name of DATABASE_FILES) {
      const from = join(dataDir, name);
      const info = await lstatOrNull(from);
      if (!info) continue;
      if (!info.isFile) {
        throw new ToolError(`${from} became ${info.isSymlink ? "a symlink" : "an odd file"}`);
      }
      await Deno.rename(from, join(asideDir, name));
      moved.push(name);
    }
    await Deno.rename(tmp, live);
    await syncDir(dataDir);
  } catch (err) {
    await Deno.remove(tmp).catch(() => {});
    throw new ToolError(
      `restore of ${snapshot.name} failed: ${err instanceof Error ? err.message : String(err)}; ` +
        (moved.length
          ? `${
            moved.join(", ")
          } were moved to ${asideDir}: move them back before starting the backend`
          : "the database was not moved"),
    );
  }
  const [want, got] = await Promise.all([sha256File(snapshot.path), sha256File(live)]);
  if (want !== got) {
    throw new ToolError(
      `restored ${live} differs from ${snapshot.path}; the previous database files are in ${asideDir}`,
    );
  }
  return { asideDir, moved, sha256: got, bytes: snapshot.bytes };
}
