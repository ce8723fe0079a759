/**
 * Database restore (lib/release/restore.ts) on real files and real SQLite databases:
 * snapshot resolution, the old database (and its -wal/-shm) moved aside and
 * kept, the snapshot put in place byte for byte, symlinks refused.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { backupDatabase } from "../../lib/release/backup.ts";
import { checkRestorable, resolveSnapshot, restoreDatabase } from "../../lib/release/restore.ts";
import { InputError, ToolError } from "../../lib/core/errors.ts";
import { rows, sha256 } from "./helpers.ts";

async function fixture(): Promise<
  AsyncDisposable & { dir: string; dataDir: string; backupsDir: string }
> {
  const dir = await Deno.makeTempDir({ prefix: "grapheon-restore-" });
  const dataDir = join(dir, "data");
  const backupsDir = join(dir, "state", "backups");
  await Deno.mkdir(dataDir, { recursive: true });
  return {
    dir,
    dataDir,
    backupsDir,
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
}

function seed(path: string, names: string[]): DatabaseSync {
  const db = new DatabaseSync(path);
  db.exec("PRAGMA journal_mode = WAL");
  db.exec("CREATE TABLE IF NOT EXISTS hosts (name TEXT)");
  for (const n of names) db.prepare("INSERT INTO hosts (name) VALUES (?)").run(n);
  return db;
}

Deno.test("restore: the live database (with -wal and -shm) is moved aside, the snapshot copied in", async () => {
  await using f = await fixture();
  const live = join(f.dataDir, "network.db");
  seed(live, ["a", "b"]).close();
  const snap = await backupDatabase({
    dataDir: f.dataDir,
    backupsDir: f.backupsDir,
    fromVersion: "0.2.0",
    keep: 5,
    now: new Date("2026-03-01T00:00:00Z"),
  });
  assert.equal(snap.kind, "snapshot");
  // the app goes on writing after the snapshot, and is still connected (WAL files present)
  const open = seed(live, ["after"]);
  open.exec("PRAGMA wal_autocheckpoint = 0");
  open.prepare("INSERT INTO hosts (name) VALUES (?)").run("in-wal");
  await Deno.chmod(live, 0o640);
  const before = await sha256(live);
  const walBefore = await Deno.readFile(join(f.dataDir, "network.db-wal"));
  assert.ok(walBefore.length > 0);

  const snapshot = await resolveSnapshot(f.backupsDir, "latest");
  await checkRestorable(f.dataDir, snapshot);
  const snapSha = await sha256(snapshot.path);
  const result = await restoreDatabase({ dataDir: f.dataDir, snapshot, now: new Date() });
  open.close(); // what stopping the backend does; after the move, its files are the aside ones

  assert.deepEqual(result.moved, ["network.db", "network.db-wal", "network.db-shm"]);
  assert.equal(result.sha256, snapSha);
  assert.equal(await sha256(live), snapSha, "byte-identical");
  assert.equal((await Deno.stat(live)).mode! & 0o777, 0o640, "mode of the old database");
  assert.ok(!(await Deno.lstat(join(f.dataDir, "network.db-wal")).catch(() => null)));
  assert.equal(await sha256(join(result.asideDir, "network.db")), before, "kept as it was");
  assert.deepEqual(rows(live, "SELECT name FROM hosts").map((r) => r.name), ["a", "b"]);
  const aside = rows(join(result.asideDir, "network.db"), "SELECT name FROM hosts").map((r) =>
    r.name
  );
  assert.deepEqual(aside, ["a", "b", "after", "in-wal"], "old data intact with its WAL");
  assert.equal((await Deno.stat(result.asideDir)).mode! & 0o777, 0o700);
});

Deno.test("restore: with no live database, the snapshot is simply put in place", async () => {
  await using f = await fixture();
  await Deno.mkdir(f.backupsDir, { recursive: true });
  const snapPath = join(f.backupsDir, "network-0.1.0-20260101T000000Z.db");
  seed(snapPath, ["x"]).close();
  const snapshot = await resolveSnapshot(f.backupsDir, "network-0.1.0-20260101T000000Z.db");
  const result = await restoreDatabase({ dataDir: f.dataDir, snapshot, now: new Date() });
  assert.deepEqual(result.moved, []);
  assert.equal(await sha256(join(f.dataDir, "network.db")), await sha256(snapPath));
});

Deno.test("resolveSnapshot: latest, a name, a path in the dir; bad names are input errors", async () => {
  await using f = await fixture();
  await assert.rejects(resolveSnapshot(f.backupsDir, "latest"), InputError);
  await Deno.mkdir(f.backupsDir, { recursive: true });
  const a = join(f.backupsDir, "network-0.1.0-20260101T000000Z.db");
  const b = join(f.backupsDir, "network-0.2.0-20260102T000000Z.db");
  seed(a, []).close();
  seed(b, []).close();
  await Deno.utime(a, new Date("2026-01-01"), new Date("2026-01-01"));
  await Deno.utime(b, new Date("2026-01-02"), new Date("2026-01-02"));
  assert.equal((await resolveSnapshot(f.backupsDir, "latest")).path, b);
  assert.equal((await resolveSnapshot(f.backupsDir, "network-0.1.0-20260101T000000Z.db")).path, a);
  assert.equal((await resolveSnapshot(f.backupsDir, a)).path, a);
  for (
    const bad of [
      "../../etc/passwd",
      "/etc/passwd",
      "network.db",
      "network-0.9.9-nope.db",
      "network-$(reboot).db",
    ]
  ) {
    await assert.rejects(resolveSnapshot(f.backupsDir, bad), InputError, bad);
  }
  await Deno.symlink("/etc/hostname", join(f.backupsDir, "network-9.9.9-link.db"));
  await assert.rejects(
    resolveSnapshot(f.backupsDir, "network-9.9.9-link.db"),
    /symlink/,
  );
});

Deno.test("checkRestorable: a symlinked database or WAL is refused before anything is stopped", async () => {
  await using f = await fixture();
  await Deno.mkdir(f.backupsDir, { recursive: true });
  const snapPath = join(f.backupsDir, "network-0.1.0-20260101T000000Z.db");
  seed(snapPath, ["x"]).close();
  const snapshot = await resolveSnapshot(f.backupsDir, "latest");
  const target = join(f.dir, "precious");
  await Deno.writeTextFile(target, "do not touch");
  await Deno.symlink(target, join(f.dataDir, "network.db-wal"));
  await assert.rejects(checkRestorable(f.dataDir, snapshot), ToolError);
  assert.equal(await Deno.readTextFile(target), "do not touch");
});

Deno.test("checkRestorable: a corrupt snapshot is refused", async () => {
  await using f = await fixture();
  await Deno.mkdir(f.backupsDir, { recursive: true });
  const snapPath = join(f.backupsDir, "network-0.1.0-20260101T000000Z.db");
  await Deno.writeTextFile(snapPath, "SQLite format 3\0" + "garbage".repeat(1000));
  const snapshot = await resolveSnapshot(f.backupsDir, "latest");
  await assert.rejects(checkRestorable(f.dataDir, snapshot), InputError);
});

Deno.test("restore: a copy that fails leaves the live database where it was", async () => {
  await using f = await fixture();
  await Deno.mkdir(f.backupsDir, { recursive: true });
  const live = join(f.dataDir, "network.db");
  seed(live, ["keep"]).close();
  const snapPath = join(f.backupsDir, "network-0.1.0-20260101T000000Z.db");
  seed(snapPath, ["x"]).close();
  const snapshot = await resolveSnapshot(f.backupsDir, "latest");
  const before = await sha256(live);
  await Deno.remove(snapPath); // gone between the plan and the restore
  await assert.rejects(
    restoreDatabase({ dataDir: f.dataDir, snapshot, now: new Date() }),
    /nothing was changed/,
  );
  assert.equal(await sha256(live), before);
  const names = (await Array.fromAsync(Deno.readDir(f.dataDir))).map((e) => e.name).sort();
  assert.deepEqual(
    names.filter((n) => !n.startsWith("network.db")),
    [],
    "no temp file, no aside dir",
  );
});
