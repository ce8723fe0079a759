import assert from "node:assert/strict";
import { join } from "node:path";
import { readFileSafe, writeFileAtomic } from "../../lib/host/files.ts";
import { UnsafePathError } from "../../lib/core/errors.ts";
import { tempDir } from "../util/cli.ts";

Deno.test("atomic writer: a concurrent reader never sees a partial file", async () => {
  await using dir = await tempDir();
  const path = join(dir.path, "status.json");
  const a = JSON.stringify({ v: "a".repeat(200_000) });
  const b = JSON.stringify({ v: "b".repeat(300_000) });
  await writeFileAtomic(path, a);
  let stop = false;
  let reads = 0;
  const reader = (async () => {
    while (!stop) {
      const text = await Deno.readTextFile(path);
      assert.ok(text === a || text === b, `read a partial file of ${text.length} bytes`);
      reads++;
      await new Promise((r) => setTimeout(r, 0));
    }
  })();
  for (let i = 0; i < 60; i++) await writeFileAtomic(path, i % 2 ? a : b);
  stop = true;
  await reader;
  assert.ok(reads > 0);
  const leftovers = [...Deno.readDirSync(dir.path)].map((e) => e.name);
  assert.deepEqual(leftovers, ["status.json"], "no temp files left");
});

Deno.test("atomic writer refuses a symlink and leaves its target untouched", async () => {
  await using dir = await tempDir();
  const outside = join(dir.path, "outside.txt");
  await Deno.writeTextFile(outside, "precious");
  const link = join(dir.path, "status.json");
  await Deno.symlink(outside, link);
  await assert.rejects(() => writeFileAtomic(link, "evil"), UnsafePathError);
  assert.equal(await Deno.readTextFile(outside), "precious");
  assert.ok((await Deno.lstat(link)).isSymlink, "the link itself is left as it was");
});

Deno.test("atomic writer keeps the mode of an existing file", async () => {
  await using dir = await tempDir();
  const path = join(dir.path, "f");
  await Deno.writeTextFile(path, "x");
  await Deno.chmod(path, 0o600);
  await writeFileAtomic(path, "y");
  assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
  const fresh = join(dir.path, "g");
  await writeFileAtomic(fresh, "z", { mode: 0o640 });
  assert.equal((await Deno.stat(fresh)).mode! & 0o777, 0o640);
});

Deno.test("safe reader refuses symlinks, directories and oversize files", async () => {
  await using dir = await tempDir();
  const target = join(dir.path, "t");
  await Deno.writeTextFile(target, "data");
  const link = join(dir.path, "l");
  await Deno.symlink(target, link);
  await assert.rejects(() => readFileSafe(link, { maxBytes: 100 }), /is a symlink/);
  await assert.rejects(() => readFileSafe(dir.path, { maxBytes: 100 }), /not a regular file/);
  await Deno.writeTextFile(target, "x".repeat(101));
  await assert.rejects(
    () => readFileSafe(target, { maxBytes: 100 }),
    /101 bytes, more than the 100/,
  );
  assert.equal(await readFileSafe(join(dir.path, "missing"), { maxBytes: 100 }), null);
  await Deno.writeTextFile(target, "ok");
  assert.equal(await readFileSafe(target, { maxBytes: 100 }), "ok");
});

Deno.test("safe reader refuses a FIFO without blocking on it", async () => {
  await using dir = await tempDir();
  const fifo = join(dir.path, "upgrade-requested");
  const mk = await new Deno.Command("mkfifo", { args: [fifo] }).output();
  assert.equal(mk.code, 0);
  await assert.rejects(() => readFileSafe(fifo, { maxBytes: 100 }), /not a regular file/);
});

Deno.test("atomic writer never carries setuid/setgid bits over from a planted file", async () => {
  await using dir = await tempDir();
  const path = join(dir.path, "upgrade-status.json");
  await Deno.writeTextFile(path, "{}");
  await Deno.chmod(path, 0o6755);
  await writeFileAtomic(path, "{}");
  assert.equal((await Deno.stat(path)).mode! & 0o7777, 0o755);
  await writeFileAtomic(path, "{}", { mode: 0o644 });
  assert.equal((await Deno.stat(path)).mode! & 0o7777, 0o644, "an explicit mode always applies");
});
