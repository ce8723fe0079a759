/**
 * Self-test of the hermetic harness: the doubles speak podman's and
 * systemctl's formats (checked through the real lib adapters), units run the
 * tagged release as a process that answers /health as that release would,
 * faults fire as documented, and `close` leaves nothing behind.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { Podman } from "../../lib/podman.ts";
import { Systemd } from "../../lib/systemd.ts";
import { Harness, HARNESS_BIN, PATH_UNIT, UPGRADE_UNIT } from "./harness.ts";
import { processAlive, sleep, withState } from "./state.ts";

const BACKEND = "grapheon-backend.service";
const FRONTEND = "grapheon-frontend.service";

/** Points the run tag at `version` through the podman double, then restarts the backend unit. */
async function switchBackend(h: Harness, version: string): Promise<number> {
  const podman = new Podman(h.runner, h.config.commands.podman);
  const id = await podman.pull(h.ref("backend", version), { timeoutMs: 10_000 });
  await podman.tag(id, `${h.config.backend.image}:${h.config.runTag}`);
  const r = await h.double("systemctl", ["restart", BACKEND]);
  return r.code;
}

async function waitFor<T>(probe: () => T | Promise<T>, ok: (v: T) => boolean, ms = 10_000) {
  const until = Date.now() + ms;
  let v = await probe();
  while (!ok(v) && Date.now() < until) {
    await sleep(50);
    v = await probe();
  }
  return v;
}

Deno.test("create: both units run the seeded release and health follows the contract", async () => {
  await using h = await Harness.create();
  const health = await h.health();
  assert.ok(health.ok);
  assert.equal(health.status, 200);
  assert.deepEqual(Object.keys(health.body), [
    "status",
    "app",
    "version",
    "uptime_seconds",
    "checks",
    "timestamp",
  ]);
  assert.equal(health.body.status, "healthy");
  assert.equal(health.body.app, "Graphēon");
  assert.equal(health.body.version, "0.2.0");
  assert.equal(typeof health.body.uptime_seconds, "number");
  const api = await fetch(h.config.backend.healthUrl.replace("/health", "/api/health"));
  assert.equal((await api.json()).version, "0.2.0");
  const front = await fetch(h.config.frontend.url);
  assert.equal(front.status, 200);
  await front.body?.cancel();
  assert.deepEqual(h.runningVersions(), { backend: "0.2.0", frontend: "0.2.0" });
  assert.equal(h.runningImageIds().backend, h.releaseId("backend", "0.2.0"));
  assert.equal(h.localImage(`${h.config.backend.image}:current`), h.releaseId("backend", "0.2.0"));
  assert.equal(h.localImage(h.ref("backend", "0.2.0")), h.releaseId("backend", "0.2.0"));
  assert.equal(h.localImage(h.ref("backend", "0.3.0")), null, "only the running release is local");
  assert.deepEqual(h.state().calls, [], "set-up does not go through the doubles");

  // The tool's config loads and points at the doubles.
  const cfg = await h.runTool(["config", "--json"]);
  assert.equal(cfg.code, 0, cfg.stderr);
  const printed = JSON.parse(cfg.stdout);
  assert.equal(printed.commands.podman, join(HARNESS_BIN, "podman"));
  assert.equal(printed.backend.healthUrl, h.config.backend.healthUrl);

  // network.db is a WAL database the running backend migrated and writes to.
  await waitFor(() => {
    const db = new DatabaseSync(join(h.dataDir, "network.db"), { readOnly: true });
    try {
      return (db.prepare("SELECT count(*) AS n FROM heartbeat").get() as { n: number }).n;
    } finally {
      db.close();
    }
  }, (n) => n > 0);
  const db = new DatabaseSync(join(h.dataDir, "network.db"), { readOnly: true });
  try {
    assert.equal(
      (db.prepare("PRAGMA journal_mode").get() as { journal_mode: string }).journal_mode,
      "wal",
    );
    assert.equal((db.prepare("SELECT count(*) AS n FROM hosts").get() as { n: number }).n, 5);
    const marks = db.prepare("SELECT version FROM migrations").all().map((r) => r.version);
    assert.deepEqual(marks, ["0.2.0"]);
    assert.ok((db.prepare("SELECT count(*) AS n FROM heartbeat").get() as { n: number }).n > 0);
  } finally {
    db.close();
  }
});

Deno.test("retag + systemctl restart switches the running release; lib adapters read the doubles", async () => {
  await using h = await Harness.create();
  const podman = new Podman(h.runner, h.config.commands.podman);
  const systemd = new Systemd(h.runner, h.config.commands.systemctl);
  assert.equal(await podman.imageId(h.ref("backend", "0.3.0")), null);
  assert.equal(await switchBackend(h, "0.3.0"), 0);
  const health = await h.waitForVersion("0.3.0");
  assert.ok(health.ok && health.body.version === "0.3.0", JSON.stringify(health));
  assert.equal(await systemd.activeState(BACKEND), "active");
  const c = await podman.inspectContainer(h.config.backend.container);
  assert.ok(c);
  assert.equal(c.Image, h.releaseId("backend", "0.3.0"));
  assert.equal(c.ImageName, `${h.config.backend.image}:current`);
  assert.equal(c.State.Running, true);
  assert.ok(c.Config?.Env?.includes("DATA_DIR=/app/data"));
  assert.deepEqual(c.Mounts?.map((m) => [m.Source, m.Destination]), [[h.dataDir, "/app/data"]]);
  const images = await podman.listImages(h.config.backend.image);
  // podman 4.3 lists an image once per tag: 0.2.0 (v0.2.0) + 0.3.0 (v0.3.0, current).
  assert.equal(images.length, 3);
  assert.deepEqual(
    [...new Set(images.map((i) => i.Id))].sort(),
    [h.releaseId("backend", "0.2.0"), h.releaseId("backend", "0.3.0")].sort(),
  );
  assert.ok(images.every((i) => typeof i.Created === "number"));
  const inspect = await podman.inspectImage(h.ref("backend", "0.3.0"));
  assert.deepEqual(inspect?.RepoTags?.sort(), [
    `${h.config.backend.image}:current`,
    h.ref("backend", "0.3.0"),
  ]);
  assert.match(await podman.logs(h.config.backend.container, 5), /backend 0\.3\.0/);
  // The old image is no longer in use and can go; the running one cannot.
  await assert.rejects(
    () => podman.removeImage(h.releaseId("backend", "0.3.0")),
    /exited 125: .*by ID with more than one tag/,
  );
  await podman.removeImage(h.ref("backend", "0.2.0"));
  assert.equal(await podman.imageId(h.ref("backend", "0.2.0")), null);
  await podman.removeImage(h.ref("backend", "0.3.0")); // one of two tags: only untagged
  await assert.rejects(
    () => podman.removeImage(`${h.config.backend.image}:current`),
    /exited 2: .*image is in use by a container/,
  );
  assert.deepEqual(
    h.calls("systemctl").map((c) => c.argv),
    [["systemctl", "restart", BACKEND], ["systemctl", "show", BACKEND, "-p", "ActiveState"]],
  );
  assert.equal(h.calls("podman", "pull")[0].code, 0);
});

Deno.test("podman double: errors look like podman 4", async () => {
  await using h = await Harness.create();
  const missing = await h.double("podman", ["image", "inspect", "--format", "json", "nope:v1"]);
  assert.equal(missing.code, 125);
  assert.equal(missing.stdout, "[]\n");
  assert.match(missing.stderr, /^Error: inspecting object: nope:v1: image not known$/m);
  const unknown = await h.double("podman", ["pull", h.ref("backend", "9.9.9")]);
  assert.equal(unknown.code, 125);
  assert.match(unknown.stderr, /manifest unknown/);
  const noCtr = await h.double("podman", ["container", "inspect", "--format", "json", "ghost"]);
  assert.equal(noCtr.code, 125);
  assert.match(noCtr.stderr, /no such container/);
  const dup = await h.double("podman", [
    "run",
    "-d",
    "--pull=never",
    "--name",
    h.config.backend.container,
    h.ref("backend", "0.2.0"),
  ]);
  assert.equal(dup.code, 125);
  assert.match(dup.stderr, /already in use/);
  const notLocal = await h.double("podman", [
    "run",
    "-d",
    "--pull=never",
    "--name",
    "x",
    h.ref("backend", "0.3.0"),
  ]);
  assert.equal(notLocal.code, 125);
  assert.match(notLocal.stderr, /image not known/);
  const weird = await h.double("podman", [
    "--log-level=error",
    "images",
    "--format",
    "json",
    "--noheading",
  ]);
  assert.equal(weird.code, 0, weird.stderr);
  assert.equal(JSON.parse(weird.stdout).length, 4, "two images with two tags each, a row per tag");
  const podman = new Podman(h.runner, h.config.commands.podman);
  assert.equal(await podman.inspectContainer("ghost"), null);
  assert.equal(await podman.inspectImage("nope:v1"), null);
});

Deno.test("canary-style podman run -d publishes on the given host port; rm -f kills it", async () => {
  await using h = await Harness.create();
  const podman = new Podman(h.runner, h.config.commands.podman);
  const id = await podman.pull(h.ref("backend", "0.3.0"), { timeoutMs: 10_000 });
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  const cid = await podman.runDetached({
    name: "grapheon-canary",
    image: id,
    env: ["DATA_DIR=/app/data"],
    envFiles: [h.config.envFile],
    volumes: [`${h.dir}:/app/data`],
    extraArgs: ["--network", "slirp4netns", "-p", `127.0.0.1:${port}:8000`],
  });
  assert.match(cid, /^[0-9a-f]{64}$/);
  const body = await waitFor(async () => {
    try {
      return await (await fetch(`http://127.0.0.1:${port}/health`)).json();
    } catch {
      return null;
    }
  }, (b) => b !== null);
  assert.equal(body?.version, "0.3.0");
  const info = await podman.inspectContainer("grapheon-canary");
  assert.ok(info?.Config?.Env?.includes("JWT_SECRET=change-me"), "env file was read");
  const { pid, pidStart } = h.state().containers["grapheon-canary"];
  assert.equal(processAlive(pid, pidStart), true);
  await podman.removeContainer("grapheon-canary");
  assert.equal(processAlive(pid, pidStart), false);
  assert.equal(await podman.inspectContainer("grapheon-canary"), null);
  assert.equal((await h.health()).ok, true, "the live backend was not touched");
});

Deno.test("behaviours: unhealthy, wrong-version, degraded, crash, needs-jwt, slow-start", async () => {
  await using h = await Harness.create();
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

Deno.test("faults: pull fails N times, pull hangs past the timeout, restart fails", async () => {
  await using h = await Harness.create();
  const podman = new Podman(h.runner, h.config.commands.podman);
  const ref = h.ref("backend", "0.3.0");
  await h.failPull(ref, { times: 1 });
  await assert.rejects(() => podman.pull(ref, { timeoutMs: 10_000 }), /exited 125/);
  assert.equal(await podman.pull(ref, { timeoutMs: 10_000 }), h.releaseId("backend", "0.3.0"));

  const slowRef = h.ref("frontend", "0.3.0");
  await h.hangPull(slowRef);
  const progress: string[] = [];
  const t0 = Date.now();
  await assert.rejects(
    () => podman.pull(slowRef, { timeoutMs: 800, onProgress: (l) => progress.push(l) }),
    /timed out after 800 ms/,
  );
  assert.ok(Date.now() - t0 < 10_000);
  assert.deepEqual(progress, [`Trying to pull ${slowRef}...`]);
  const hung = await waitFor(
    () => h.calls("podman", "pull", slowRef)[0],
    (c) => c.code !== undefined,
  );
  assert.equal(hung.code, 143, "the timeout's SIGTERM ended the hanging pull");
  assert.equal(h.localImage(slowRef), null);

  await h.failRestart(BACKEND, { times: 1 });
  const r = await h.double("systemctl", ["restart", BACKEND]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /Job for grapheon-backend.service failed/);
  assert.equal((await h.double("systemctl", ["is-active", BACKEND])).stdout, "failed\n");
  assert.deepEqual(await h.health(), { ok: false, error: "refused" });
  assert.equal((await h.double("systemctl", ["restart", BACKEND])).code, 0, "fires once");
  assert.ok((await h.waitForVersion("0.2.0")).ok);
  const calls = h.calls("systemctl", "restart");
  assert.deepEqual(calls.map((c) => [c.fault ?? null, c.code]), [["fail", 1], [null, 0]]);
});

Deno.test("kill-tool fault SIGKILLs the main.ts process at the nth matching call", async () => {
  await using h = await Harness.create();
  // A stand-in for the tool: any process whose command line has main.ts.
  const main = join(h.dir, "main.ts");
  await Deno.writeTextFile(
    main,
    `for (const args of [["images"], ["images"], ["images"]]) {
       const out = await new Deno.Command("podman", { args }).output();
       console.log("podman exited", out.code);
     }
     console.log("survived");`,
  );
  await h.killToolOn(["podman", "images"], { nth: 2 });
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", "--no-config", main],
    env: h.env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const out = await child;
  assert.equal(out.signal, "SIGKILL");
  const stdout = new TextDecoder().decode(out.stdout);
  assert.equal(stdout, "podman exited 0\n", "killed at the second call, before it printed");
  const calls = h.calls("podman", "images");
  assert.equal(calls.length, 2);
  assert.equal(calls[1].fault, "kill-tool");

  // when: "after": the command completes, then the tool dies.
  await h.clearFaults();
  await h.killToolOn(["systemctl", "restart"], { when: "after" });
  await h.install("backend", "0.3.0");
  await Deno.writeTextFile(
    main,
    `await new Deno.Command("systemctl", { args: ["restart", "${BACKEND}"] }).output();
     console.log("survived");`,
  );
  const out2 = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", "--no-config", main],
    env: h.env,
    stdout: "piped",
  }).output();
  assert.equal(out2.signal, "SIGKILL");
  assert.equal(new TextDecoder().decode(out2.stdout), "");
  assert.ok((await h.waitForVersion("0.3.0")).ok, "the restart itself completed");
});

Deno.test("concurrent double calls are all recorded and the state stays whole", async () => {
  await using h = await Harness.create();
  const id = h.releaseId("backend", "0.2.0");
  const results = await Promise.all(
    Array.from({ length: 8 }, (_, i) => h.double("podman", ["tag", id, `localhost/test:t${i}`])),
  );
  assert.ok(results.every((r) => r.code === 0));
  assert.equal(h.calls("podman", "tag").length, 8);
  const tags = h.state().images[id].repoTags.filter((t) => t.startsWith("localhost/test:"));
  assert.equal(tags.length, 8);
});

Deno.test("close kills every harness process and removes the temp dir", async () => {
  const h = await Harness.create();
  await h.hangPull(h.ref("backend", "0.3.0"));
  const hung = h.spawnTool(["config"]); // exits by itself; close must cope either way
  const pull = new Deno.Command(join(HARNESS_BIN, "podman"), {
    args: ["pull", h.ref("backend", "0.3.0")],
    env: h.env,
    stdout: "null",
    stderr: "null",
  }).spawn();
  const pids = await waitFor(() => h.processes(), (p) => p.length >= 3);
  assert.ok(pids.length >= 3, `fake apps and the hanging pull: ${pids}`);
  const apps = Object.values(h.state().containers);
  await h.close();
  await pull.status;
  await hung.status;
  for (const c of apps) assert.equal(processAlive(c.pid, c.pidStart), false);
  for (const pid of pids) {
    assert.ok(!Harness.cmdline(pid).includes(h.stateDir), `pid ${pid} still runs`);
  }
  await assert.rejects(() => Deno.stat(h.dir), Deno.errors.NotFound);
  await h.close(); // idempotent
});

Deno.test("configOverrides are merged and validated by lib/config.ts", async () => {
  await assert.rejects(
    () => Harness.create({ running: null, configOverrides: { timeouts: { pull: "soon" } } }),
    /field timeouts\.pull/,
  );
  await using h = await Harness.create({
    running: { backend: "0.3.0" },
    configOverrides: { runTag: "live", timeouts: { health: "2s" } },
  });
  assert.equal(h.config.timeouts.health, "2s");
  assert.equal(h.config.timeouts.pull, "3s");
  assert.equal(h.localImage(`${h.config.backend.image}:live`), h.releaseId("backend", "0.3.0"));
  assert.deepEqual(h.runningVersions(), { backend: "0.3.0", frontend: null });
  assert.ok(Harness.request("0.3.0").requested_at.endsWith("Z"));
  await h.writeRequest(Harness.request("0.3.0"));
  assert.equal(
    JSON.parse(await Deno.readTextFile(join(h.dataDir, "upgrade-requested"))).target_version,
    "0.3.0",
  );
  assert.equal(await h.readStatus(), null);
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
  const r = await waitFor(() => h.health(300), (x) => !x.ok && x.error !== "refused");
  assert.ok(!r.ok && r.error !== "refused", `connects but times out: ${JSON.stringify(r)}`);
});

Deno.test("crashAfterMs: a release that passes a first health check and then dies", async () => {
  await using h = await Harness.create({
    releases: { backend: { "0.5.0": { behaviour: "healthy", crashAfterMs: 600 } } },
    running: { backend: "0.5.0" },
  });
  const first = await h.waitForVersion("0.5.0");
  assert.ok(first.ok && first.status === 200, "serves at first");
  const later = await waitFor(() => h.health(), (r) => !r.ok);
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

Deno.test("watchPathUnit: the app's request file starts the upgrade service, which upgrades", async () => {
  await using h = await Harness.create({ watchPathUnit: { pollMs: 50 } });
  await h.writeRequest(Harness.request("0.3.0"));
  const status = await waitFor(
    () => h.readStatus().catch(() => null),
    (s) => s?.status === "completed" || s?.status === "failed",
    60_000,
  );
  assert.equal(status?.status, "completed", h.journal());
  assert.deepEqual(h.runningVersions(), { backend: "0.3.0", frontend: "0.3.0" });
  await waitFor(
    () => h.calls("systemctl", "start", UPGRADE_UNIT),
    (c) => c.every((x) => x.code !== undefined),
  );
  assert.equal(
    h.calls("systemctl", "start", UPGRADE_UNIT).length,
    1,
    "fired once: the marker is gone",
  );
});

Deno.test("watchPathUnit: a service that leaves the marker behind hits the start limit", async () => {
  await using h = await Harness.create({ running: null });
  await withState(h.stateDir, (s) => {
    const u = s.units[UPGRADE_UNIT];
    if (u.kind === "plain") u.exec = ["true"];
  });
  await h.writeRequest("0.3.0");
  const w = h.watchPathUnit({ pollMs: 20, startLimit: 3 });
  const state = await waitFor(
    () => h.double("systemctl", ["show", PATH_UNIT, "-p", "ActiveState,Result"]),
    (r) => r.stdout.startsWith("ActiveState=failed"),
  );
  assert.equal(state.stdout, "ActiveState=failed\nResult=unit-start-limit-hit\n");
  assert.equal(w.triggers, 3);
});

Deno.test("the app's update endpoints: request, status (idle, as written, error), 502 when down", async () => {
  await using h = await Harness.create();
  assert.deepEqual(await h.appStatus(), { status: 200, body: { status: "idle" } });
  const posted = await h.appRequestUpgrade();
  assert.equal(posted.status, 200);
  const marker = JSON.parse(await Deno.readTextFile(join(h.dataDir, "upgrade-requested")));
  assert.deepEqual(Object.keys(marker), [
    "requested_at",
    "current_version",
    "target_version",
    "target_backend_version",
    "target_frontend_version",
  ]);
  assert.match(marker.requested_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.equal(marker.current_version, "0.2.0");
  assert.equal(marker.target_version, "0.3.0", "the registry's :latest");
  assert.equal(marker.target_frontend_version, "0.3.0");

  const status = { status: "running", message: "Pulling", step: 2, total_steps: 5, progress: 40 };
  await Deno.writeTextFile(join(h.dataDir, "upgrade-status.json"), JSON.stringify(status));
  assert.deepEqual((await h.appStatus("backend")).body, status);
  await Deno.writeTextFile(join(h.dataDir, "upgrade-status.json"), '{"status": "runn');
  assert.equal(((await h.appStatus()).body as { status: string }).status, "error");

  assert.equal((await h.double("systemctl", ["stop", BACKEND])).code, 0);
  assert.equal((await h.appStatus()).status, 502, "nginx answers 502 while the backend is down");
});

Deno.test("the app's request with DATA_DIR=/data never reaches the host (upstream bug)", async () => {
  await using h = await Harness.create({ backendUnitEnv: ["DATA_DIR=/data"] });
  assert.equal((await h.appRequestUpgrade("backend")).status, 200);
  await assert.rejects(
    () => Deno.lstat(join(h.dataDir, "upgrade-requested")),
    Deno.errors.NotFound,
  );
});

Deno.test("end to end as a user: the web UI's request, the path unit, the tool, the UI's polling", async () => {
  await using h = await Harness.create({ watchPathUnit: { pollMs: 50 } });
  assert.equal((await h.appRequestUpgrade()).status, 200);
  const seen = new Set<string>();
  const final = await waitFor(
    async () => {
      const r = await h.appStatus().catch(() => null);
      const s = (r?.body as { status?: string } | undefined)?.status;
      if (s) seen.add(s);
      return s;
    },
    (s) => s === "completed" || s === "failed",
    60_000,
  );
  assert.equal(final, "completed", h.journal());
  assert.deepEqual(h.runningVersions(), { backend: "0.3.0", frontend: "0.3.0" });
  for (const s of seen) assert.ok(["idle", "running", "completed"].includes(s), `UI saw ${s}`);
});

Deno.test("podman run --label and --rm: ps filters by label, an exited --rm container is gone", async () => {
  await using h = await Harness.create();
  await h.install("backend", "0.3.0", { runTag: false });
  await h.install("backend", "0.3.2", { runTag: false });
  const ok = await h.double("podman", [
    "run",
    "-d",
    "--pull=never",
    "--name",
    "c1",
    "--label",
    "grapheon-tool=canary",
    h.ref("backend", "0.3.0"),
  ]);
  assert.equal(ok.code, 0, ok.stderr);
  const dies = await h.double("podman", [
    "run",
    "-d",
    "--rm",
    "--name",
    "c2",
    h.ref("backend", "0.3.2"),
  ]);
  assert.equal(dies.code, 0, dies.stderr);
  const ps = await h.double("podman", [
    "ps",
    "-a",
    "--format",
    "json",
    "--filter",
    "label=grapheon-tool=canary",
  ]);
  assert.deepEqual(JSON.parse(ps.stdout).map((c: { Names: string[] }) => c.Names[0]), ["c1"]);
  const inspect = await h.double("podman", ["container", "inspect", "--format", "json", "c1"]);
  assert.equal(JSON.parse(inspect.stdout)[0].Config.Labels["grapheon-tool"], "canary");
  const gone = await waitFor(
    () => h.double("podman", ["container", "inspect", "--format", "json", "c2"]),
    (r) => r.code !== 0,
  );
  assert.equal(gone.code, 125, "the crashed --rm container was removed");
});

Deno.test("a container whose host port is taken dies with 'cannot listen on port' (create retries on it)", async () => {
  await using h = await Harness.create();
  await h.install("backend", "0.3.0", { runTag: false });
  using busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (busy.addr as Deno.NetAddr).port;
  const r = await h.double("podman", [
    "run",
    "-d",
    "--name",
    "blocked",
    "-p",
    `127.0.0.1:${port}:8000`,
    h.ref("backend", "0.3.0"),
  ]);
  assert.equal(r.code, 0);
  const logs = await waitFor(
    () => h.double("podman", ["logs", "blocked"]),
    (l) => l.stdout.includes("cannot listen"),
  );
  assert.match(logs.stdout, new RegExp(`cannot listen on port ${port}`));
});

Deno.test("oneshot units: --no-block runs in the background, a second start joins the run", async () => {
  await using h = await Harness.create({ running: null });
  const marker = join(h.dir, "runs");
  await withState(h.stateDir, (s) => {
    const u = s.units[UPGRADE_UNIT];
    if (u.kind === "plain") u.exec = ["sh", "-c", `echo run >> '${marker}'; sleep 0.5; exit 3`];
  });
  const t0 = Date.now();
  const bg = await h.double("systemctl", ["start", "--no-block", UPGRADE_UNIT]);
  assert.equal(bg.code, 0);
  assert.ok(Date.now() - t0 < 5000);
  const joined = await h.double("systemctl", ["start", UPGRADE_UNIT]);
  assert.equal(joined.code, 1, "waited for the same run, which failed");
  assert.equal(await Deno.readTextFile(marker), "run\n", "one run, not two");
  const show = await h.double("systemctl", ["show", UPGRADE_UNIT, "-p", "ActiveState,Result"]);
  assert.equal(show.stdout, "ActiveState=failed\nResult=exit-code\n");
});
