/**
 * Issue 13 items 4 and 9: the container-writable status file is bounded in size,
 * depth and shape before root stores it (journal, history) or prints it (`status`).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { readStatus } from "../../lib/job/status_file.ts";
import { depthExceeds, forTerminal } from "../../lib/core/untrusted_text.ts";
import { Harness } from "../harness/harness.ts";

const ESC = "\x1b";

Deno.test("untrusted text: escapes and controls never reach the terminal, length is bounded", () => {
  assert.equal(forTerminal(`ok ${ESC}[31mred${ESC}[0m`), "ok red");
  assert.equal(forTerminal(`${ESC}]0;pwned title\x07done`), "done");
  assert.equal(forTerminal(`a\rb\x00c\x9bd\u202ee`), "a?b?c?d?e");
  assert.equal(forTerminal("line\nbreak"), "line break");
  assert.equal(forTerminal("x".repeat(50), 10), `${"x".repeat(10)}…`);
});

Deno.test("untrusted JSON: depth is measured without recursion", () => {
  let deep: unknown = 1;
  for (let i = 0; i < 200_000; i++) deep = [deep];
  assert.equal(depthExceeds(deep, 16), true);
  assert.equal(depthExceeds({ a: { b: [1, 2] } }, 16), false);
  assert.equal(depthExceeds({ a: { b: [1, 2] } }, 2), true);
});

Deno.test("status file: versions are validated app versions or null, message bounded", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      join(dir, "upgrade-status.json"),
      JSON.stringify({
        status: "running",
        message: "m".repeat(100_000),
        from_version: "0.2.0",
        to_version: "9".repeat(120_000),
      }),
    );
    const s = (await readStatus(dir))!;
    assert.equal(s.from_version, "0.2.0");
    assert.equal(s.to_version, null);
    assert.ok(s.message!.length <= 4097);
    await Deno.writeTextFile(
      join(dir, "upgrade-status.json"),
      JSON.stringify({ status: "running", from_version: { evil: true }, to_version: "v0.3.0" }),
    );
    const t = (await readStatus(dir))!;
    assert.equal(t.from_version, null);
    assert.equal(t.to_version, "0.3.0");
    await Deno.writeTextFile(
      join(dir, "upgrade-status.json"),
      "[".repeat(120_000) + "]".repeat(120_000),
    );
    assert.equal((await readStatus(dir))!.status, "error");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a stale status with 120 KB versions does not reach root's history", async () => {
  await using h = await Harness.create();
  await Deno.writeTextFile(
    join(h.dataDir, "upgrade-status.json"),
    JSON.stringify({
      status: "running",
      step: 1,
      from_version: "x".repeat(120_000),
      to_version: "0.3.0",
    }),
  );
  const r = await h.runTool(["upgrade", "--recover"]);
  assert.equal(r.code, 0, r.stderr);
  const history = await Deno.readTextFile(join(h.config.stateDir, "history.json"));
  assert.ok(history.length < 10_000, `history.json is ${history.length} bytes`);
  assert.doesNotMatch(history, /xxxxxxxx/);
});

Deno.test("status: a message with terminal escapes is printed sanitised; a 120k-deep file does not crash --json", async () => {
  await using h = await Harness.create();
  const path = join(h.dataDir, "upgrade-status.json");
  await Deno.writeTextFile(
    path,
    JSON.stringify({
      status: "failed",
      step: 5,
      message: `boom ${ESC}]0;owned${ESC}\\${ESC}[2J\x07end`,
    }),
  );
  const text = await h.runTool(["status"]);
  assert.ok(!text.stdout.includes(ESC), "no ESC in the output");
  assert.ok(!text.stdout.includes("\x07"), "no BEL in the output");
  assert.match(text.stdout, /boom \?end/);

  await Deno.writeTextFile(path, "[".repeat(120_000) + "]".repeat(120_000));
  const deep = await h.runTool(["status", "--json"]);
  assert.notEqual(deep.code, 70, deep.stderr);
  const doc = JSON.parse(deep.stdout);
  assert.equal(doc.upgrade.status.status, "error");
});
