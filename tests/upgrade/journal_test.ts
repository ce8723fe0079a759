/** What `upgrade` does with a journal it did not expect: finishing, a rollback's, an unreadable one; and an unreadable history. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { Harness } from "../harness/harness.ts";

const exists = (p: string) => Deno.lstat(p).then(() => true, () => false);

function journal(h: Harness, extra: Record<string, unknown>) {
  const pair = (v: string) => ({
    backend: { version: v, imageId: h.releaseId("backend", v) },
    frontend: { version: v, imageId: h.releaseId("frontend", v) },
  });
  return {
    id: "20260101T000000Z-abcdef",
    kind: "upgrade",
    trigger: "request",
    startedAt: "2026-01-01T00:00:00.000Z",
    attempts: 1,
    phase: "planned",
    from: pair("0.2.0"),
    to: pair("0.3.0"),
    requestText: null,
    backup: null,
    failure: null,
    ...extra,
  };
}

Deno.test("a crash after the outcome was recorded: the next run only finishes the bookkeeping", async () => {
  await using h = await Harness.create({ running: { backend: "0.3.0", frontend: "0.3.0" } });
  const text = JSON.stringify(Harness.request("0.3.0"));
  await h.writeRequest(text);
  await Deno.mkdir(h.config.stateDir, { recursive: true });
  const outcome = { result: "completed", message: "Upgraded from 0.2.0 to 0.3.0.", step: 5 };
  await Deno.writeTextFile(
    join(h.config.stateDir, "journal.json"),
    JSON.stringify(journal(h, { phase: "finishing", outcome, requestText: text })),
  );
  const r = await h.runTool(["upgrade"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(h.calls("systemctl", "restart").length, 0, "nothing restarted again");
  assert.equal(h.calls("podman", "pull").length, 0);
  const s = (await h.readStatus())!;
  assert.equal(s.status, "completed");
  assert.equal(s.message, outcome.message);
  assert.equal(await exists(join(h.dataDir, "upgrade-requested")), false, "request archived");
  assert.equal(await exists(join(h.config.stateDir, "journal.json")), false);
  const again = await h.runTool(["upgrade", "--recover"]);
  assert.equal(again.code, 0);
  const history = JSON.parse(await Deno.readTextFile(join(h.config.stateDir, "history.json")));
  assert.equal(history.filter((e: { id: string }) => e.id === "20260101T000000Z-abcdef").length, 1);
});

Deno.test("an interrupted rollback is left to 'rollback': exit 7, journal kept, request archived", async () => {
  await using h = await Harness.create();
  await h.writeRequest(Harness.request("0.3.0"));
  await Deno.mkdir(h.config.stateDir, { recursive: true });
  const rollback = journal(h, { kind: "rollback", trigger: "operator", phase: "pulled" });
  await Deno.writeTextFile(join(h.config.stateDir, "journal.json"), JSON.stringify(rollback));
  for (const args of [["upgrade"], ["upgrade", "--recover"]]) {
    const r = await h.runTool(args);
    assert.equal(r.code, 7, r.stderr);
  }
  assert.equal(h.calls("systemctl", "restart").length, 0, "nothing live touched");
  assert.equal(h.calls("podman", "pull").length, 0);
  const s = (await h.readStatus())!;
  assert.equal(s.status, "failed");
  assert.match(
    String(s.message),
    /interrupted rollback .* must be finished first: run 'grapheon-tool rollback'/,
  );
  const kept = JSON.parse(await Deno.readTextFile(join(h.config.stateDir, "journal.json")));
  assert.equal(kept.kind, "rollback");
  assert.equal(kept.phase, "pulled");
  assert.equal(await exists(join(h.dataDir, "upgrade-requested")), false, "no .path loop");
});

Deno.test("an unreadable journal is moved aside, the status says so, exit 7", async () => {
  await using h = await Harness.create();
  await h.writeRequest(Harness.request("0.3.0"));
  await Deno.mkdir(h.config.stateDir, { recursive: true });
  await Deno.writeTextFile(join(h.config.stateDir, "journal.json"), "{not json");
  const r = await h.runTool(["upgrade"]);
  assert.equal(r.code, 7, r.stderr);
  const s = (await h.readStatus())!;
  assert.equal(s.status, "failed");
  assert.match(String(s.message), /journal was unreadable/);
  const names = [...Deno.readDirSync(h.config.stateDir)].map((e) => e.name);
  assert.ok(names.some((n) => n.startsWith("journal.json.unreadable-")), names.join(","));
  assert.equal(await exists(join(h.dataDir, "upgrade-requested")), false);
  const next = await h.runTool(["upgrade", "--version", "0.3.0"]);
  assert.equal(next.code, 0, next.stderr);
});

Deno.test("an unreadable history is moved aside, never overwritten", async () => {
  await using h = await Harness.create();
  await Deno.mkdir(h.config.stateDir, { recursive: true });
  await Deno.writeTextFile(join(h.config.stateDir, "history.json"), "[{broken");
  const r = await h.runTool(["upgrade", "--version", "0.3.0"]);
  assert.equal(r.code, 0, r.stderr);
  const names = [...Deno.readDirSync(h.config.stateDir)].map((e) => e.name);
  const aside = names.find((n) => n.startsWith("history.json.unreadable-"));
  assert.ok(aside, names.join(","));
  assert.equal(await Deno.readTextFile(join(h.config.stateDir, aside)), "[{broken");
  const history = JSON.parse(await Deno.readTextFile(join(h.config.stateDir, "history.json")));
  assert.equal(history.length, 1);
});
