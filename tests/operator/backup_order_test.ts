/**
 * Issue 13 items 5 and 8: snapshots are ordered by the tool's own record, not by
 * file times or the (possibly wrong) clock in their names; temp files a killed
 * `VACUUM INTO` left behind are removed by the next backup.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { backupDatabase, listBackups } from "../../lib/release/backup.ts";
import { resolveSnapshot } from "../../lib/release/restore.ts";

async function fixture() {
  const dir = await Deno.makeTempDir({ prefix: "grapheon-backup-order-" });
  const dataDir = join(dir, "data");
  const backupsDir = join(dir, "state", "backups");
  await Deno.mkdir(dataDir, { recursive: true });
  const db = new DatabaseSync(join(dataDir, "network.db"));
  db.exec("PRAGMA journal_mode = WAL; CREATE TABLE hosts (name TEXT)");
  db.close();
  return {
    dataDir,
    backupsDir,
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
}

const FUTURE = new Date("2099-01-01T00:00:00Z");

Deno.test("backups: written while the clock ran ahead, they do not prune the newest or fool `latest`", async () => {
  await using f = await fixture();
  const take = (version: string, now: string, keep = 2) =>
    backupDatabase({
      dataDir: f.dataDir,
      backupsDir: f.backupsDir,
      fromVersion: version,
      keep,
      now: new Date(now),
    });
  // Two snapshots while the clock was a year ahead (names and mtimes in the future)…
  const a = await take("0.1.0", "2027-06-01T00:00:00Z");
  const b = await take("0.2.0", "2027-06-02T00:00:00Z");
  for (const s of [a, b]) if (s.kind === "snapshot") await Deno.utime(s.path, FUTURE, FUTURE);
  // …then the clock is corrected and the next upgrade takes a new one.
  const c = await take("0.3.0", "2026-06-03T00:00:00Z");
  assert.equal(c.kind, "snapshot");
  const names = (await listBackups(f.backupsDir)).map((x) => x.name);
  assert.equal(names.length, 2);
  assert.equal(
    names.at(-1),
    "network-0.3.0-20260603T000000Z.db",
    "the new snapshot is kept, newest",
  );
  assert.equal(names[0], "network-0.2.0-20270602T000000Z.db");
  const latest = await resolveSnapshot(f.backupsDir, "latest");
  assert.equal(latest.name, "network-0.3.0-20260603T000000Z.db");
});

Deno.test("backups: snapshots without a record (older tool) come first, by file time", async () => {
  await using f = await fixture();
  await Deno.mkdir(f.backupsDir, { recursive: true });
  const legacy = join(f.backupsDir, "network-0.0.9-20200101T000000Z.db");
  await Deno.writeFile(legacy, new Uint8Array([1]));
  await Deno.utime(legacy, FUTURE, FUTURE);
  await backupDatabase({
    dataDir: f.dataDir,
    backupsDir: f.backupsDir,
    fromVersion: "0.1.0",
    keep: 5,
    now: new Date("2026-01-01T00:00:00Z"),
  });
  const names = (await listBackups(f.backupsDir)).map((x) => x.name);
  assert.deepEqual(names, [
    "network-0.0.9-20200101T000000Z.db",
    "network-0.1.0-20260101T000000Z.db",
  ]);
});

Deno.test("backups: a temp file (and -journal) left by a SIGKILL during VACUUM INTO is removed by the next run", async () => {
  await using f = await fixture();
  await Deno.mkdir(f.backupsDir, { recursive: true });
  const stale = join(f.backupsDir, ".network-0.1.0-20260101T000000Z.db.tmp-4242");
  await Deno.writeFile(stale, new Uint8Array(4096));
  await Deno.writeFile(`${stale}-journal`, new Uint8Array(512));
  const foreign = join(f.backupsDir, ".someone-elses.tmp-1"); // not the tool's naming: kept
  await Deno.writeFile(foreign, new Uint8Array(1));
  await backupDatabase({
    dataDir: f.dataDir,
    backupsDir: f.backupsDir,
    fromVersion: "0.2.0",
    keep: 5,
    now: new Date("2026-01-02T00:00:00Z"),
  });
  const left = [];
  for await (const e of Deno.readDir(f.backupsDir)) left.push(e.name);
  assert.deepEqual(
    left.sort(),
    [".someone-elses.tmp-1", "network-0.2.0-20260102T000000Z.db", "order.json"],
  );
});
