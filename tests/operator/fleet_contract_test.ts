/**
 * What a fleet engine reads from the tool, on the hermetic harness (the real CLI, no terminal:
 * stdin is /dev/null): every field examples/ansible/upgrade.yml decides on, each from the tool's
 * own JSON validated by its schema. The playbook itself is played against real hosts by
 * tests/lab/fleet_test.ts; this pins the contract it relies on, case by case.
 */
import assert from "node:assert/strict";
import {
  errorJsonSchema,
  rollbackNoopJsonSchema,
  rollbackOutcomeJsonSchema,
  statusJsonSchema,
  upgradeJsonSchema,
} from "../../lib/cli/json_outputs.ts";
import { dryRunSchema } from "../../lib/upgrade/mod.ts";
import { Harness } from "../harness/harness.ts";
import { parseJson } from "./helpers.ts";

async function statusDoc(h: Harness) {
  const r = await h.runTool(["status", "--json"]);
  assert.ok(r.code === 0 || r.code === 1, r.stderr);
  return statusJsonSchema.parse(parseJson(r.stdout));
}

Deno.test("fleet: --backend-version/--frontend-version without a request; status --json tells health and versions", async () => {
  await using h = await Harness.create();
  const r = await h.runTool([
    "upgrade",
    "--json",
    "--backend-version",
    "0.3.0",
    "--frontend-version",
    "0.3.5",
    "--wait-for-lock",
    "15m",
  ]);
  assert.equal(r.code, 0, r.stderr);
  const doc = upgradeJsonSchema.parse(parseJson(r.stdout));
  assert.equal(doc.result, "completed");
  assert.equal(doc.changed, true);
  assert.equal(doc.to?.backend.version, "0.3.0");
  assert.equal(doc.to?.frontend.version, "0.3.5");
  assert.ok(doc.duration_ms > 0 && Object.keys(doc.phases_ms).length > 0);
  const s = await statusDoc(h);
  assert.equal(s.health.status, "healthy");
  assert.equal(s.backend.version, "0.3.0");
  assert.equal(s.frontend.version, "0.3.5");
  assert.equal(s.upgrade.journal, null);
  assert.equal(s.upgrade.running, false);
});

Deno.test("fleet: the dry run (--check) decides upgrade, noop or refuse-downgrade, exit 0, nothing touched", async () => {
  await using h = await Harness.create({ running: { backend: "0.3.0", frontend: "0.3.0" } });
  const decide = async (version: string) => {
    const r = await h.runTool(["upgrade", "--json", "--version", version, "--dry-run"]);
    assert.equal(r.code, 0, r.stderr);
    const dry = dryRunSchema.parse(parseJson(r.stdout));
    return "decision" in dry ? dry.decision : null;
  };
  assert.equal(await decide("0.3.5"), "upgrade");
  assert.equal(await decide("0.3.0"), "noop");
  assert.equal(await decide("0.2.0"), "refuse-downgrade");
  assert.equal(h.calls("podman", "pull").length + h.calls("systemctl", "restart").length, 0);
});

Deno.test("fleet: busy under --json is one document with exit 5; --wait-for-lock waits, then runs", async () => {
  await using h = await Harness.create({ configOverrides: { timeouts: { pull: "30s" } } });
  await h.setFault({ match: ["podman", "pull"], action: "delay", ms: 2500, times: 1 });
  const first = h.spawnTool(["upgrade", "--version", "0.3.0", "--json"]);
  for (let i = 0; i < 400 && h.calls("podman", "pull").length === 0; i++) {
    await new Promise((r) => setTimeout(r, 25));
  }
  const busy = await h.runTool(["upgrade", "--version", "0.3.0", "--json"]);
  assert.equal(busy.code, 5, busy.stderr);
  const err = errorJsonSchema.parse(parseJson(busy.stdout));
  assert.equal(err.exit_code, 5);
  assert.match(err.message, /another upgrade or rollback is running/);
  const waited = await h.runTool([
    "upgrade",
    "--version",
    "0.3.0",
    "--json",
    "--wait-for-lock",
    "1m",
  ]);
  assert.equal(waited.code, 0, waited.stderr);
  assert.match(waited.stderr, /holds the lock; waiting for it/);
  const after = upgradeJsonSchema.parse(parseJson(waited.stdout));
  assert.equal(after.result, "noop", "the first run had done it");
  assert.equal(after.changed, false);
  assert.equal((await first.output()).code, 0);
});

Deno.test("fleet: a bad command line and a bad config under --json are one document too", async () => {
  await using h = await Harness.create();
  const usage = await h.runTool(["upgrade", "--json", "--version", "latest"]);
  assert.equal(usage.code, 2);
  assert.equal(errorJsonSchema.parse(parseJson(usage.stdout)).exit_code, 2);
  const config = await h.runTool(["status", "--json", "--config", "/nonexistent/tool.json"]);
  assert.equal(config.code, 3);
  assert.equal(errorJsonSchema.parse(parseJson(config.stdout)).exit_code, 3);
  const fine = await h.runTool(["status", "--json"]);
  assert.doesNotThrow(() => statusJsonSchema.parse(parseJson(fine.stdout)), "not an error doc");
});

Deno.test("fleet: an interrupted upgrade's status names the release it came from; the next run finishes it", async () => {
  await using h = await Harness.create();
  await h.killToolOn(["systemctl", "restart", h.config.backend.service], { when: "after" });
  const killed = await h.runTool(["upgrade", "--version", "0.3.0", "--json"]);
  assert.equal(killed.signal, "SIGKILL", killed.stderr);
  const s = await statusDoc(h);
  assert.ok(s.upgrade.journal && "from" in s.upgrade.journal, JSON.stringify(s.upgrade.journal));
  assert.equal(s.upgrade.journal.from.backend.version, "0.2.0");
  assert.equal(s.upgrade.journal.interrupted, true);
  const again = await h.runTool(["upgrade", "--version", "0.3.0", "--json"]);
  assert.equal(again.code, 0, again.stderr);
  const doc = upgradeJsonSchema.parse(parseJson(again.stdout));
  assert.equal(doc.resumed, true);
  assert.equal(doc.result, "completed");
  assert.equal((await statusDoc(h)).upgrade.journal, null);
});

Deno.test("fleet: the rescue's rollback --to the previous release: completed, then a no-op", async () => {
  await using h = await Harness.create();
  const up = await h.runTool(["upgrade", "--version", "0.3.0", "--no-canary"]);
  assert.equal(up.code, 0, up.stderr);
  const back = ["rollback", "--to", "0.2.0", "--frontend", "0.2.0", "--yes", "--json"];
  const r = await h.runTool(back);
  assert.equal(r.code, 0, r.stderr);
  const done = rollbackOutcomeJsonSchema.parse(parseJson(r.stdout));
  assert.equal(done.result, "completed");
  assert.equal(done.to.backend.version, "0.2.0");
  assert.equal(h.runningVersions().backend, "0.2.0");
  const again = await h.runTool(back);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(rollbackNoopJsonSchema.parse(parseJson(again.stdout)).result, "noop");
});

// Ansible runs a module through `ssh -tt` unless pipelining is on (ansible-core 2.14,
// plugins/connection/ssh.py, option use_tty), so when the controller dies the remote terminal
// hangs up and the kernel sends SIGHUP to its foreground process group: the module and the tool.
// The lab's killed play (tests/lab/fleet_test.ts) does that for real; this is the same, cell by cell.
Deno.test("fleet: the play's SSH session dropped (SIGHUP, stdout and stderr gone) stops at a safe point and rolls back", async () => {
  await using h = await Harness.create({ configOverrides: { timeouts: { health: "30s" } } });
  // 0.3.6 answers nothing: without the signal, step 5 would wait 30 s
  const child = h.spawnTool(["upgrade", "--version", "0.3.6", "--no-canary", "--json"]);
  for (let i = 0; i < 400 && (await h.readStatus())?.step !== 5; i++) {
    await new Promise((r) => setTimeout(r, 25));
  }
  // what a hung-up terminal or a dead module leaves the tool: nobody reads its output any more
  await child.stdout.cancel();
  await child.stderr.cancel();
  child.kill("SIGHUP");
  const status = await child.status;
  assert.equal(status.signal, null, "the tool was not killed by the hangup");
  assert.equal(status.code, 6);
  const s = (await h.readStatus())!;
  assert.equal(s.status, "failed");
  assert.equal(s.rolled_back, true);
  assert.match(String(s.message), /interrupted/);
  assert.equal(h.runningVersions().backend, "0.2.0");
});
