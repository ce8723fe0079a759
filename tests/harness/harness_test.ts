/**
 * Self-test of the hermetic harness (core): a new host serves the seeded release per
 * the contract, faults fire as documented (fail, hang, kill-tool), concurrent doubles
 * keep the state whole, config overrides are validated, and `close` leaves nothing.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { Podman } from "../../lib/host/podman.ts";
import { Harness, HARNESS_BIN } from "./harness.ts";
import { processAlive } from "./state.ts";
import { BACKEND, waitFor } from "./test_helpers.ts";

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

Deno.test("configOverrides are merged and validated by lib/config/config.ts", async () => {
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
