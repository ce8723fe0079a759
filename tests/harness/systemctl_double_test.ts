/**
 * Self-test of the systemctl and df doubles and the unit model: release behaviours as
 * seen through restarts, failed starts, unit states, plain and oneshot units.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { Systemd } from "../../lib/host/systemd.ts";
import { Harness, PATH_UNIT, UPGRADE_UNIT } from "./harness.ts";
import { withState } from "./state.ts";
import { BACKEND, FRONTEND, switchBackend, waitFor } from "./test_helpers.ts";

Deno.test("behaviours: unhealthy, wrong-version, degraded, crash, needs-jwt, slow-start", async () => {
  // A longer start delay than the default, so that "not listening yet" holds on a loaded machine.
  await using h = await Harness.create({
    releases: { backend: { "0.3.4": { behaviour: "slow-start", startDelayMs: 4000 } } },
  });
  const systemd = new Systemd(h.runner, h.config.commands.systemctl);

  assert.equal(await switchBackend(h, "0.3.1"), 0);
  let health = await waitFor(() => h.health(), (r) => r.ok);
  assert.ok(health.ok && health.status === 503 && health.body.status === "unhealthy");

  assert.equal(await switchBackend(h, "0.3.3"), 0);
  health = await waitFor(() => h.health(), (r) => r.ok);
  assert.ok(
    health.ok && health.status === 200 && health.body.version === "0.2.0",
    "reports the old version",
  );

  assert.equal(await switchBackend(h, "0.3.5"), 0);
  health = await waitFor(() => h.health(), (r) => r.ok);
  assert.ok(health.ok && health.status === 200 && health.body.status === "degraded");

  assert.equal(await switchBackend(h, "0.3.2"), 0, "a crashing release still starts");
  const state = await waitFor(() => systemd.activeState(BACKEND), (s) => s !== "active");
  assert.equal(state, "activating");
  assert.deepEqual(await h.health(), { ok: false, error: "refused" });
  const logs = await h.double("podman", ["logs", "--tail", "3", h.config.backend.container]);
  assert.match(logs.stdout, /simulated start-up crash/);

  assert.equal(await switchBackend(h, "0.4.0"), 0);
  await waitFor(() => systemd.activeState(BACKEND), (s) => s !== "active");
  assert.equal(await systemd.activeState(BACKEND), "activating");
  const jwtLogs = await h.double("podman", ["logs", "--tail", "1", h.config.backend.container]);
  assert.match(jwtLogs.stdout, /JWT_SECRET must be set/);
  await h.writeEnvFile({ JWT_SECRET: "a-real-secret" });
  assert.equal((await h.double("systemctl", ["restart", BACKEND])).code, 0);
  health = await h.waitForVersion("0.4.0");
  assert.ok(health.ok && health.body.version === "0.4.0");

  assert.equal(await switchBackend(h, "0.3.4"), 0);
  assert.deepEqual(await h.health(), { ok: false, error: "refused" }, "not listening yet");
  assert.equal(await systemd.activeState(BACKEND), "active");
  health = await h.waitForVersion("0.3.4");
  assert.ok(health.ok && health.body.version === "0.3.4", "listens after the delay");

  // Each release that got as far as the database left its migration mark.
  const db = new DatabaseSync(join(h.dataDir, "network.db"), { readOnly: true });
  try {
    const marks = db.prepare("SELECT version FROM migrations ORDER BY version").all()
      .map((r) => r.version);
    assert.deepEqual(marks, ["0.2.0", "0.3.1", "0.3.2", "0.3.3", "0.3.4", "0.3.5", "0.4.0"]);
  } finally {
    db.close();
  }
});

Deno.test("a run tag that resolves to nothing fails the unit", async () => {
  await using h = await Harness.create();
  // Removing one of two tags of an image in use only untags it (podman 4.3 does the same).
  const rmi = await h.double("podman", ["rmi", `${h.config.frontend.image}:current`]);
  assert.deepEqual([rmi.code, rmi.stdout], [0, `Untagged: ${h.config.frontend.image}:current\n`]);
  const last = await h.double("podman", ["rmi", h.ref("frontend", "0.2.0")]);
  assert.equal(last.code, 2);
  assert.match(last.stderr, /image is in use by a container/);
  const r = await h.double("systemctl", ["restart", FRONTEND]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /Job for grapheon-frontend.service failed/);
  const show = await h.double("systemctl", ["show", FRONTEND, "-p", "ActiveState"]);
  assert.equal(show.stdout, "ActiveState=failed\n");
  const active = await h.double("systemctl", ["is-active", FRONTEND]);
  assert.deepEqual([active.code, active.stdout], [3, "failed\n"]);
});

Deno.test("systemctl double: show, is-active, enable/disable --now, unknown units", async () => {
  await using h = await Harness.create();
  const show = await h.double("systemctl", [
    "show",
    BACKEND,
    "-p",
    "ActiveState",
    "--property=SubState,LoadState",
  ]);
  assert.equal(show.stdout, "ActiveState=active\nSubState=running\nLoadState=loaded\n");
  const value = await h.double("systemctl", ["show", "-P", "ActiveState", FRONTEND]);
  assert.equal(value.stdout, "active\n");
  const ghost = await h.double("systemctl", ["show", "ghost.service", "-p", "LoadState"]);
  assert.deepEqual([ghost.code, ghost.stdout], [0, "LoadState=not-found\n"]);
  const ghostActive = await h.double("systemctl", ["is-active", "ghost"]);
  assert.deepEqual([ghostActive.code, ghostActive.stdout], [4, "inactive\n"]);
  const ghostRestart = await h.double("systemctl", ["restart", "ghost.service"]);
  assert.equal(ghostRestart.code, 5);
  assert.match(ghostRestart.stderr, /Unit ghost.service not found/);

  const off = await h.double("systemctl", ["disable", "--now", BACKEND]);
  assert.equal(off.code, 0);
  assert.equal((await h.double("systemctl", ["is-active", BACKEND])).stdout, "inactive\n");
  assert.equal((await h.double("systemctl", ["is-enabled", BACKEND])).code, 1);
  assert.deepEqual(await h.health(), { ok: false, error: "refused" });
  const stopped = await h.double("podman", [
    "container",
    "inspect",
    "--format",
    "json",
    h.config.backend.container,
  ]);
  assert.equal(JSON.parse(stopped.stdout)[0].State.Status, "exited", "stop leaves the container");
  assert.equal((await h.double("systemctl", ["enable", "--now", BACKEND])).code, 0);
  assert.ok((await h.waitForVersion("0.2.0")).ok);
  assert.equal((await h.double("systemctl", ["daemon-reload"])).code, 0);
  assert.equal((await h.double("systemctl", ["frobnicate", BACKEND])).code, 1);
  assert.ok(h.state().calls.every((c) => typeof c.code === "number"), "every call has its code");
});

Deno.test("DATA_DIR=/data keeps the app's data inside the container; hang never answers", async () => {
  await using h = await Harness.create({ backendUnitEnv: ["DATA_DIR=/data"] });
  const logs = await h.double("podman", ["logs", h.config.backend.container]);
  assert.match(logs.stdout, /DATA_DIR=\/data is not a mounted volume/);
  const db = new DatabaseSync(join(h.dataDir, "network.db"), { readOnly: true });
  try {
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all()
      .map((r) => r.name);
    assert.deepEqual(tables, ["hosts"], "the app never touched the host database");
  } finally {
    db.close();
  }
  const info = await h.double("podman", ["info", "--format", "{{.Store.GraphRoot}}"]);
  assert.equal(info.stdout, `${join(h.stateDir, "storage")}\n`);

  const id = await h.publish("backend", "0.9.0", "hang", { alsoLatest: true });
  const pulled = await h.double("podman", ["pull", `${h.config.backend.image}:latest`]);
  assert.equal(pulled.stdout, `${id}\n`);
  await h.double("podman", ["tag", id, `${h.config.backend.image}:current`]);
  assert.equal((await h.double("systemctl", ["restart", BACKEND])).code, 0);
  const r = await waitFor(() => h.health(300), (x) => !x.ok && x.error === "timeout");
  assert.deepEqual(r, { ok: false, error: "timeout" }, "connects but never answers");
});

Deno.test("crashAfterMs: a release that passes a first health check and then dies", async () => {
  await using h = await Harness.create({
    releases: { backend: { "0.5.0": { behaviour: "healthy", crashAfterMs: 600 } } },
    running: { backend: "0.5.0" },
  });
  const first = await h.waitForVersion("0.5.0");
  assert.ok(first.ok && first.status === 200, "serves at first");
  // While it dies a request may see a reset connection; once it is gone, connections are refused.
  const later = await waitFor(() => h.health(), (r) => !r.ok && r.error === "refused");
  assert.deepEqual(later, { ok: false, error: "refused" });
  const state = await h.double("systemctl", ["is-active", BACKEND]);
  assert.deepEqual([state.code, state.stdout], [3, "activating\n"]);
  assert.notEqual(h.releaseId("backend", "0.5.0"), h.releaseId("backend", "0.3.0"));
});

Deno.test("df double and plain units (grapheon-upgrade.path / .service)", async () => {
  await using h = await Harness.create();
  const df = await h.double("df", ["--output=avail,size", "-B1", h.dataDir]);
  assert.equal(df.code, 0, df.stderr);
  assert.deepEqual(df.stdout.trim().split("\n").at(-1)!.trim().split(/\s+/).map(Number), [
    50 * 1024 ** 3,
    100 * 1024 ** 3,
  ]);
  await h.setDisk(1024, 4096);
  const small = await h.double("df", ["--output=avail,size", "-B1", h.dataDir]);
  assert.match(small.stdout, /\n\s+1024\s+4096\n$/);
  const missing = await h.double("df", ["--output=avail,size", "-B1", join(h.dir, "nope")]);
  assert.equal(missing.code, 1);

  const show = await h.double("systemctl", ["show", PATH_UNIT, "-p", "ActiveState,LoadState"]);
  assert.equal(show.stdout, "ActiveState=active\nLoadState=loaded\n");
  await h.setUnitState(PATH_UNIT, "inactive");
  assert.equal((await h.double("systemctl", ["is-active", PATH_UNIT])).stdout, "inactive\n");
  assert.equal((await h.double("systemctl", ["start", PATH_UNIT])).code, 0);
  assert.equal((await h.double("systemctl", ["is-active", PATH_UNIT])).stdout, "active\n");

  // The oneshot upgrade service runs the real tool; with nothing requested it is a no-op.
  const run = await h.double("systemctl", ["start", UPGRADE_UNIT]);
  assert.equal(run.code, 0, run.stderr);
  const after = await h.double("systemctl", ["show", UPGRADE_UNIT, "-p", "ActiveState,Result"]);
  assert.equal(after.stdout, "ActiveState=inactive\nResult=success\n");
  assert.match(h.journal(), /no upgrade requested|nothing to do|no request/i);
});

Deno.test("oneshot units: --no-block runs in the background, a second start joins the run", async () => {
  await using h = await Harness.create({ running: null });
  const marker = join(h.dir, "runs");
  await withState(h.stateDir, (s) => {
    const u = s.units[UPGRADE_UNIT];
    // Long enough that the second start, itself a process, arrives while the run is on.
    if (u.kind === "plain") u.exec = ["sh", "-c", `echo run >> '${marker}'; sleep 5; exit 3`];
  });
  const t0 = Date.now();
  const bg = await h.double("systemctl", ["start", "--no-block", UPGRADE_UNIT]);
  assert.equal(bg.code, 0);
  assert.ok(Date.now() - t0 < 5000, "--no-block returned before the run ended");
  const joined = await h.double("systemctl", ["start", UPGRADE_UNIT]);
  assert.equal(joined.code, 1, "waited for the same run, which failed");
  assert.equal(await Deno.readTextFile(marker), "run\n", "one run, not two");
  const show = await h.double("systemctl", ["show", UPGRADE_UNIT, "-p", "ActiveState,Result"]);
  assert.equal(show.stdout, "ActiveState=failed\nResult=exit-code\n");
});
