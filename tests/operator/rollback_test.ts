/**
 * `grapheon-tool rollback` end to end on the hermetic harness: the real CLI,
 * podman/systemctl doubles, fake app processes answering /health.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { acquireLock } from "../../lib/lock.ts";
import { REPO_ROOT } from "../harness/harness.ts";
import { operatorHost, parseJson, rows, sha256, upgradeTo } from "./helpers.ts";
import { historyJsonSchema, rollbackOutcomeJsonSchema, rollbackPlanJsonSchema } from "./schemas.ts";

Deno.test("rollback: back to the release before the last upgrade, by its exact image IDs", async () => {
  await using op = await operatorHost();
  const { h } = op;
  await upgradeTo(h, "0.3.0");
  assert.equal(h.runningVersions().backend, "0.3.0");
  const pullsBefore = h.calls("podman", "pull").length;

  const dry = await h.runTool(["rollback", "--dry-run", "--json"]);
  assert.equal(dry.code, 0, dry.stderr);
  const plan = rollbackPlanJsonSchema.parse(parseJson(dry.stdout)).plan;
  assert.equal(plan.to.backend.imageId, h.releaseId("backend", "0.2.0"));
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
  assert.equal(out.to.backend.imageId, h.releaseId("backend", "0.2.0"));
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

Deno.test("rollback: refused when there is nothing to roll back to (exit 1, nothing touched)", async () => {
  await using op = await operatorHost();
  const { h } = op;
  const r = await h.runTool(["rollback", "--yes"]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /nothing to roll back to/);
  assert.equal(await h.readStatus(), null, "no status written");
  assert.equal(h.calls("systemctl", "restart").length, 0);
  assert.equal(h.calls("podman", "tag").length, 0);
});

Deno.test("rollback: refused while an upgrade holds the lock (exit 5, nothing touched)", async () => {
  await using op = await operatorHost();
  const { h } = op;
  await upgradeTo(h, "0.3.0");
  const statusBefore = await Deno.readTextFile(join(h.dataDir, "upgrade-status.json"));
  const tagsBefore = h.calls("podman", "tag").length;
  {
    using _lock = await acquireLock(h.config.stateDir, "test");
    const r = await h.runTool(["rollback", "--yes"]);
    assert.equal(r.code, 5, r.stderr);
    assert.match(r.stderr, /another upgrade or rollback is running/);
    const clear = await h.runTool(["rollback", "--clear"]);
    assert.equal(clear.code, 5, clear.stderr);
  }
  assert.equal(await Deno.readTextFile(join(h.dataDir, "upgrade-status.json")), statusBefore);
  assert.equal(h.calls("podman", "tag").length, tagsBefore);
  assert.equal(h.runningVersions().backend, "0.3.0");
});

Deno.test("rollback: bad --to and bad snapshot are bad input (exit 4), nothing touched", async () => {
  await using op = await operatorHost();
  const { h } = op;
  await upgradeTo(h, "0.3.0");
  for (
    const args of [
      ["--to", "0.3"],
      ["--to", "0.2.0;rm -rf /"],
      ["--restore-data", "../../etc/passwd"],
      ["--restore-data", "network-0.2.0-nope.db"],
      ["--restore-data", "/etc/passwd"],
    ]
  ) {
    const r = await h.runTool(["rollback", ...args, "--yes"]);
    assert.equal(r.code, 4, `${args.join(" ")}: ${r.stderr}`);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  }
  assert.equal(h.runningVersions().backend, "0.3.0");
  assert.equal((await h.readStatus())!.kind, "upgrade", "status untouched");
});

Deno.test("rollback: a pending request blocks it; --clear archives the request and a stale status", async () => {
  await using op = await operatorHost();
  const { h } = op;
  await upgradeTo(h, "0.3.0");
  await h.writeRequest({ target_version: "0.3.0" });
  const blocked = await h.runTool(["rollback", "--yes"]);
  assert.equal(blocked.code, 1, blocked.stderr);
  assert.match(blocked.stderr, /--clear/);
  assert.equal(h.runningVersions().backend, "0.3.0");

  // a dead upgrade: status stuck at running, request left behind
  await Deno.writeTextFile(
    join(h.dataDir, "upgrade-status.json"),
    JSON.stringify({ status: "running", step: 2, total_steps: 5, progress: 40, message: "x" }),
  );
  const cleared = await h.runTool(["rollback", "--clear", "--json"]);
  assert.equal(cleared.code, 0, cleared.stderr);
  const c = parseJson(cleared.stdout) as { cleared: { request: string; status: boolean } };
  assert.equal(c.cleared.status, true);
  assert.ok(c.cleared.request.startsWith(join(h.config.stateDir, "requests")));
  assert.match(await Deno.readTextFile(c.cleared.request), /0\.3\.0/);
  assert.equal(await h.readStatus(), null);
  assert.ok(!(await Deno.lstat(join(h.dataDir, "upgrade-requested")).catch(() => null)));
  assert.equal(h.runningVersions().backend, "0.3.0", "--clear alone rolls nothing back");

  const r = await h.runTool(["rollback", "--yes"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(h.runningVersions().backend, "0.2.0");
});

Deno.test("rollback: a failed rollback exits 7 and the status says failed", async () => {
  await using op = await operatorHost();
  const { h } = op;
  await upgradeTo(h, "0.3.0");
  await h.failRestart(h.config.backend.service);
  const r = await h.runTool(["rollback", "--yes", "--json"]);
  assert.equal(r.code, 7, r.stderr);
  const out = rollbackOutcomeJsonSchema.parse(parseJson(r.stdout));
  assert.equal(out.result, "failed");
  assert.equal(out.live_touched, true);
  const status = (await h.readStatus())!;
  assert.equal(status.status, "failed");
  assert.match(String(status.message), /Rollback to 0\.2\.0 failed/);
  const hist = historyJsonSchema.parse(parseJson((await h.runTool(["history", "--json"])).stdout));
  assert.equal(hist.entries[0].kind, "rollback");
  assert.equal(hist.entries[0].result, "failed");
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

Deno.test("rollback: a pull that fails changes nothing live (exit 7, status failed)", async () => {
  await using op = await operatorHost();
  const { h } = op;
  await upgradeTo(h, "0.3.0");
  const rm = await h.double("podman", ["rmi", "--force", h.releaseId("backend", "0.2.0")]);
  assert.equal(rm.code, 0, rm.stderr);
  await h.failPull(h.ref("backend", "0.2.0"));
  const restarts = h.calls("systemctl", "restart").length;
  const r = await h.runTool(["rollback", "--yes", "--json"]);
  assert.equal(r.code, 7, r.stderr);
  const out = rollbackOutcomeJsonSchema.parse(parseJson(r.stdout));
  assert.equal(out.live_touched, false);
  assert.match(out.message, /before anything live changed.*Still running 0\.3\.0/);
  assert.equal(h.calls("systemctl", "restart").length, restarts);
  assert.equal(h.runningVersions().backend, "0.3.0");
  assert.equal((await h.readStatus())!.status, "failed");
});

Deno.test("rollback: on a terminal it asks; 'n' changes nothing, 'y' rolls back", async () => {
  await using op = await operatorHost();
  const { h } = op;
  await upgradeTo(h, "0.3.0");
  // script(1) gives the tool a pseudo-terminal as stdin, as over SSH
  const cmd = [Deno.execPath(), "run", "-A", "--quiet", join(REPO_ROOT, "main.ts"), "rollback"]
    .map((a) => `'${a}'`).join(" ");
  const ask = () =>
    new Deno.Command("script", {
      args: ["-qec", cmd, "/dev/null"],
      env: h.env,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  const no = ask();
  const w = no.stdin.getWriter();
  await w.write(new TextEncoder().encode("n\n"));
  await w.close();
  const noOut = await no.output();
  const noText = new TextDecoder().decode(noOut.stdout);
  assert.match(noText, /Roll back now\? \[y\/N\]/);
  assert.match(noText, /not confirmed; nothing was changed/);
  assert.equal(noOut.code, 1);
  assert.equal(h.runningVersions().backend, "0.3.0");
  const yes = ask();
  const w2 = yes.stdin.getWriter();
  await w2.write(new TextEncoder().encode("y\n"));
  await w2.close();
  const yesOut = await yes.output();
  assert.equal(yesOut.code, 0, new TextDecoder().decode(yesOut.stdout));
  assert.equal(h.runningVersions().backend, "0.2.0");
});
