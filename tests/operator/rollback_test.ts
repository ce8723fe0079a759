/**
 * `grapheon-tool rollback` end to end on the hermetic harness: the real CLI,
 * podman/systemctl doubles, fake app processes answering /health.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { operatorHost, parseJson, rows, sha256, upgradeTo } from "./helpers.ts";
import {
  historyJsonSchema,
  rollbackOutcomeJsonSchema,
  rollbackPlanJsonSchema,
} from "../../lib/cli/json_outputs.ts";

Deno.test("rollback: back to the release before the last upgrade, by its exact image IDs", async () => {
  await using op = await operatorHost();
  const { h } = op;
  await upgradeTo(h, "0.3.0");
  assert.equal(h.runningVersions().backend, "0.3.0");
  const pullsBefore = h.calls("podman", "pull").length;

  const dry = await h.runTool(["rollback", "--dry-run", "--json"]);
  assert.equal(dry.code, 0, dry.stderr);
  const plan = rollbackPlanJsonSchema.parse(parseJson(dry.stdout)).plan;
  assert.equal(plan.to.backend.image_id, h.releaseId("backend", "0.2.0"));
  assert.deepEqual(plan.pulls, []);
  assert.equal(h.runningVersions().backend, "0.3.0", "dry run changed nothing");

  const r = await h.runTool(["rollback", "--yes", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const out = rollbackOutcomeJsonSchema.parse(parseJson(r.stdout));
  assert.equal(out.result, "completed");
  assert.deepEqual(h.runningImageIds(), {
    backend: h.releaseId("backend", "0.2.0"),
    frontend: h.releaseId("frontend", "0.2.0"),
  });
  assert.equal((await h.waitForVersion("0.2.0")).ok, true);
  assert.equal(h.calls("podman", "pull").length, pullsBefore, "nothing pulled: images were local");

  const status = (await h.readStatus())!;
  assert.equal(status.status, "completed");
  assert.equal(status.progress, 100);
  assert.equal(status.kind, "rollback");
  assert.equal(status.from_version, "0.3.0");
  assert.equal(status.to_version, "0.2.0");
  assert.equal(status.job_id, out.job_id);
  // what the web UI gets from the app's own endpoint, through the frontend
  const ui = await h.appStatus();
  assert.equal(ui.status, 200);
  assert.deepEqual(ui.body, status);

  const hist = historyJsonSchema.parse(parseJson((await h.runTool(["history", "--json"])).stdout));
  assert.equal(hist.total, 2);
  const [rb, up] = hist.entries;
  assert.equal(rb.kind, "rollback");
  assert.equal(rb.who, "operator");
  assert.equal(rb.result, "completed");
  assert.equal(rb.from.backend.version, "0.3.0");
  assert.equal(rb.to.backend.image_id, h.releaseId("backend", "0.2.0"));
  assert.equal(up.kind, "upgrade");
  assert.ok(!(await Deno.stat(join(h.config.stateDir, "journal.json")).catch(() => null)));
});

Deno.test("rollback --to: a named release by its recorded image IDs", async () => {
  await using op = await operatorHost();
  const { h } = op;
  await upgradeTo(h, "0.3.0");
  await upgradeTo(h, "0.3.5");
  const r = await h.runTool(["rollback", "--to", "0.2.0", "--yes", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const out = rollbackOutcomeJsonSchema.parse(parseJson(r.stdout));
  assert.equal(out.from.backend.version, "0.3.5");
  assert.equal(out.to.backend.image_id, h.releaseId("backend", "0.2.0"));
  assert.equal(h.runningVersions().backend, "0.2.0");
  assert.equal(h.runningVersions().frontend, "0.2.0");
  assert.equal(h.calls("podman", "pull", h.ref("backend", "0.2.0")).length, 0);
  // the default (no --to) now goes back to what ran before 0.2.0 was installed: nothing
  const again = await h.runTool(["rollback", "--yes"]);
  assert.equal(again.code, 1, again.stderr);
});

Deno.test("rollback: an image pruned since is pulled again by its vX.Y.Z tag", async () => {
  await using op = await operatorHost();
  const { h } = op;
  await upgradeTo(h, "0.3.0");
  for (const which of ["backend", "frontend"] as const) {
    const rm = await h.double("podman", ["rmi", "--force", h.releaseId(which, "0.2.0")]);
    assert.equal(rm.code, 0, rm.stderr);
    assert.equal(h.localImage(h.ref(which, "0.2.0")), null);
  }
  const r = await h.runTool(["rollback", "--yes", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(h.calls("podman", "pull", h.ref("backend", "0.2.0")).length, 1);
  assert.equal(h.calls("podman", "pull", h.ref("frontend", "0.2.0")).length, 1);
  assert.equal(h.runningImageIds().backend, h.releaseId("backend", "0.2.0"));
  assert.equal((await h.waitForVersion("0.2.0")).ok, true);
});

Deno.test("rollback --restore-data: old database kept aside, snapshot restored byte for byte", async () => {
  await using op = await operatorHost();
  const { h } = op;
  await upgradeTo(h, "0.3.0"); // takes network-0.2.0-<stamp>.db before the swap
  const live = join(h.dataDir, "network.db");
  {
    const { DatabaseSync } = await import("node:sqlite");
    const db = new DatabaseSync(live);
    db.exec("PRAGMA busy_timeout = 5000");
    db.prepare("INSERT INTO hosts (name, ip) VALUES (?, ?)").run("after-upgrade", "10.9.9.9");
    db.close();
  }
  const backups = (await Array.fromAsync(Deno.readDir(join(h.config.stateDir, "backups"))))
    .map((e) => e.name).filter((n) => n.endsWith(".db"));
  assert.equal(backups.length, 1);
  const snapshotPath = join(h.config.stateDir, "backups", backups[0]);
  const snapshotSha = await sha256(snapshotPath);

  const r = await h.runTool(["rollback", "--restore-data", backups[0], "--yes", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const out = rollbackOutcomeJsonSchema.parse(parseJson(r.stdout));
  assert.ok(out.restore);
  assert.equal(out.restore.snapshot, backups[0]);
  assert.equal(
    out.restore.sha256,
    snapshotSha,
    "the file put in place was the snapshot, byte for byte",
  );
  assert.equal(await sha256(snapshotPath), snapshotSha, "the snapshot itself is untouched");
  assert.ok(out.restore.moved.includes("network.db"));
  assert.equal(h.runningVersions().backend, "0.2.0");
  assert.equal((await h.waitForVersion("0.2.0")).ok, true);

  // the old database, with the row written after the upgrade and 0.3.0's schema, is kept aside
  const aside = join(out.restore.aside_dir, "network.db");
  assert.ok(out.restore.aside_dir.startsWith(h.dataDir + "/before-restore-"));
  const asideHosts = rows(aside, "SELECT name FROM hosts").map((x) => x.name);
  assert.ok(asideHosts.includes("after-upgrade"));
  const asideMigrations = rows(aside, "SELECT version FROM migrations").map((x) => x.version);
  assert.ok(asideMigrations.includes("0.3.0"));
  // the live database is the snapshot's content: no row from after the upgrade, no 0.3.0 schema
  const liveHosts = rows(live, "SELECT name FROM hosts").map((x) => x.name);
  assert.ok(!liveHosts.includes("after-upgrade"));
  assert.equal(liveHosts.length, 5);
  const liveMigrations = rows(live, "SELECT version FROM migrations").map((x) => x.version);
  assert.ok(!liveMigrations.includes("0.3.0"));
  assert.ok(h.calls("systemctl", "stop", h.config.backend.service).length >= 1, "backend stopped");
});

Deno.test("rollback --to <running> --restore-data: restores data without changing release", async () => {
  await using op = await operatorHost();
  const { h } = op;
  await upgradeTo(h, "0.3.0");
  const restarts = h.calls("systemctl", "restart", h.config.frontend.service).length;
  const r = await h.runTool([
    "rollback",
    "--to",
    "0.3.0",
    "--restore-data",
    "latest",
    "--yes",
    "--json",
  ]);
  assert.equal(r.code, 0, r.stderr);
  const out = rollbackOutcomeJsonSchema.parse(parseJson(r.stdout));
  assert.ok(out.restore);
  assert.equal(h.runningVersions().backend, "0.3.0");
  assert.equal((await h.waitForVersion("0.3.0")).ok, true);
  assert.equal(
    h.calls("systemctl", "restart", h.config.frontend.service).length,
    restarts,
    "the frontend already ran the target: not restarted",
  );
});
