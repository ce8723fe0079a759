import assert from "node:assert/strict";
import { join } from "node:path";
import { Harness } from "../harness/harness.ts";

Deno.test("concurrent triggers: exactly one upgrade runs, the other exits 5 touching nothing", async () => {
  // The slow pulls must stay under the per-attempt timeout even on a loaded machine
  // (the harness's 3 s was exceeded there, and the retry pulled a second time).
  await using h = await Harness.create({ configOverrides: { timeouts: { pull: "30s" } } });
  await h.writeRequest(Harness.request("0.3.0"));
  // Both pulls are slow: they run at once, and a quick frontend pull would let the first
  // run move its own status on while the busy runs are checked.
  await h.setFault({ match: ["podman", "pull"], action: "delay", ms: 5000, times: 2 });
  const first = h.spawnTool(["upgrade"]);
  // wait until the first one holds the lock and sits in both (slow) pulls
  for (let i = 0; i < 400 && h.calls("podman", "pull").length < 2; i++) {
    await new Promise((r) => setTimeout(r, 25));
  }
  const statusBefore = await Deno.readTextFile(join(h.dataDir, "upgrade-status.json"));
  const others = await Promise.all([h.runTool(["upgrade"]), h.runTool(["upgrade"])]);
  for (const o of others) {
    assert.equal(o.code, 5, o.stderr);
    assert.match(o.stderr, /another upgrade or rollback is running/);
  }
  const statusAfter = await Deno.readTextFile(join(h.dataDir, "upgrade-status.json"));
  assert.equal(statusAfter, statusBefore, "the busy runs did not write the status");
  const out = await first.output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  assert.equal(h.calls("podman", "pull", h.ref("backend", "0.3.0")).length, 1, "pulled once");
  assert.equal(h.runningVersions().backend, "0.3.0");
});

Deno.test("SIGTERM during the health check stops and rolls back (exit 6)", async () => {
  await using h = await Harness.create({
    configOverrides: { timeouts: { health: "30s" } },
  });
  await h.writeRequest(Harness.request("0.3.6")); // answers nothing: health would wait 30 s
  const child = h.spawnTool(["upgrade", "--no-canary"]);
  for (let i = 0; i < 400 && (await h.readStatus())?.step !== 5; i++) {
    await new Promise((r) => setTimeout(r, 25));
  }
  child.kill("SIGTERM");
  const out = await child.output();
  assert.equal(out.code, 6, new TextDecoder().decode(out.stderr));
  const s = (await h.readStatus())!;
  assert.equal(s.status, "failed");
  assert.equal(s.rolled_back, true);
  assert.match(String(s.message), /interrupted/);
  assert.equal(h.runningVersions().backend, "0.2.0");
});

Deno.test("SIGTERM during a pull stops before anything live changed (exit 1)", async () => {
  await using h = await Harness.create({ configOverrides: { timeouts: { pull: "60s" } } });
  await h.hangPull(h.ref("backend", "0.3.0"));
  await h.writeRequest(Harness.request("0.3.0"));
  const child = h.spawnTool(["upgrade"]);
  for (let i = 0; i < 400 && (await h.readStatus())?.step !== 2; i++) {
    await new Promise((r) => setTimeout(r, 25));
  }
  await new Promise((r) => setTimeout(r, 300));
  child.kill("SIGTERM");
  const out = await child.output();
  assert.equal(out.code, 1, new TextDecoder().decode(out.stderr));
  assert.equal(h.calls("systemctl", "restart").length, 0);
  const s = (await h.readStatus())!;
  assert.equal(s.status, "failed");
  assert.match(String(s.message), /before anything live changed/);
});

Deno.test("run by systemd (INVOCATION_ID), a busy lock is waited for, then the request is served", async () => {
  await using h = await Harness.create();
  await h.setFault({ match: ["podman", "pull"], action: "delay", ms: 2500, times: 1 });
  const operator = h.spawnTool(["upgrade", "--version", "0.3.0"]);
  for (let i = 0; i < 400 && h.calls("podman", "pull").length === 0; i++) {
    await new Promise((r) => setTimeout(r, 25));
  }
  await h.writeRequest(Harness.request("0.3.5"));
  const byUnit = await h.runTool(["upgrade"], { env: { INVOCATION_ID: "0123456789abcdef" } });
  assert.equal(byUnit.code, 0, byUnit.stderr);
  assert.match(byUnit.stderr, /holds the lock; waiting for it/);
  assert.equal((await operator.output()).code, 0);
  assert.equal(
    h.runningVersions().backend,
    "0.3.5",
    "the request ran after the operator's upgrade",
  );
  const after = await h.runTool(["upgrade", "--wait-for-lock", "0s"]);
  assert.equal(after.code, 0, "nothing requested any more");
});

Deno.test("SIGTERM during the canary is an interruption (exit 1), not a refusal", async () => {
  await using h = await Harness.create();
  await h.writeRequest(Harness.request("0.3.4")); // slow start: the canary takes a while
  const child = h.spawnTool(["upgrade"]);
  for (let i = 0; i < 400 && h.calls("podman", "run").length === 0; i++) {
    await new Promise((r) => setTimeout(r, 25));
  }
  child.kill("SIGTERM");
  const out = await child.output();
  assert.equal(out.code, 1, new TextDecoder().decode(out.stderr));
  const s = (await h.readStatus())!;
  assert.equal(s.status, "failed");
  assert.match(String(s.message), /interrupted/);
  assert.doesNotMatch(String(s.message), /refused/);
  assert.equal(h.state().containers["grapheon-backend-canary"], undefined, "canary removed");
});
