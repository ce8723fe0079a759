/**
 * The status problem detection (pure), from recorded `podman container inspect`
 * JSON (the documented deployment: DATA_DIR unset, host data mounted at
 * /app/data, running `:latest`) and variants of it; plus the df parser and the
 * /proc/locks reader.
 */
import { IMAGE_CMD } from "../harness/podman_images.ts";
import assert from "node:assert/strict";
import { join } from "node:path";
import { z } from "zod";
import { defaultConfig } from "../../lib/config/config.ts";
import { parseDf } from "../../lib/host/disk.ts";
import { acquireLock } from "../../lib/job/lock.ts";
import { inodeLocked, lockHeld } from "../../lib/job/lock_probe.ts";
import { type ContainerInfo, containerInspectSchema } from "../../lib/host/podman.ts";
import {
  checkDataDir,
  checkDisk,
  detectProblems,
  type StatusFacts,
} from "../../lib/status/report.ts";

const config = defaultConfig();
const GIB = 1024 ** 3;

async function recorded(): Promise<ContainerInfo> {
  const text = await Deno.readTextFile(
    join(import.meta.dirname!, "fixtures", "backend_inspect_documented.json"),
  );
  return z.array(containerInspectSchema).parse(JSON.parse(text))[0];
}

function withEnv(c: ContainerInfo, env: string[], mounts?: ContainerInfo["Mounts"]): ContainerInfo {
  return {
    ...c,
    Config: { ...c.Config, Env: [...(c.Config?.Env ?? []), ...env] },
    Mounts: mounts ?? c.Mounts,
  };
}

/** A healthy host's facts built on the recorded container, pinned and with DATA_DIR set. */
async function healthy(): Promise<StatusFacts> {
  const base = await recorded();
  const backend = withEnv(
    { ...base, ImageName: `${config.backend.image}:${config.runTag}` },
    ["DATA_DIR=/app/data"],
  );
  const frontend: ContainerInfo = {
    ...base,
    Id: "f".repeat(64),
    Image: "e".repeat(64),
    Name: "grapheon-frontend",
    ImageName: `${config.frontend.image}:${config.runTag}`,
    Config: { Env: [] },
    Mounts: [],
  };
  return {
    now: "2026-03-14T03:00:00.000Z",
    containers: { backend, frontend },
    imageTags: { backend: [], frontend: [] },
    backendCommand: [...IMAGE_CMD.backend],
    runTagIds: { backend: backend.Image, frontend: frontend.Image },
    units: {
      [config.backend.service]: "active",
      "grapheon-backend.socket": "active",
      [config.frontend.service]: "active",
      "grapheon-upgrade.path": "active",
      "grapheon-upgrade.service": "inactive",
    },
    health: { status: "healthy", version: "0.10.4", error: null },
    dataDirReal: config.dataDir,
    request: { present: false },
    status: { status: "completed", step: 5 },
    journal: null,
    lockHeld: false,
    history: [],
    historyWarning: null,
    backups: [],
    disk: { path: "/var/lib/containers/storage", availBytes: 40 * GIB, sizeBytes: 100 * GIB },
  };
}

function ids(facts: StatusFacts): string[] {
  return detectProblems(facts, config).map((p) => p.id);
}

Deno.test("healthy facts: no problems", async () => {
  assert.deepEqual(detectProblems(await healthy(), config), []);
});

Deno.test("DATA_DIR: the recorded documented deployment (unset → /data, mount at /app/data) is the bug", async () => {
  const c = await recorded();
  const p = checkDataDir(c, config, null);
  assert.ok(p);
  assert.equal(p.id, "data-dir-not-mounted");
  assert.match(p.message, /DATA_DIR=\/data \(unset: the app's default\)/);
  assert.match(p.message, /\/var\/lib\/grapheon\/data is mounted at \/app\/data/);
  assert.match(p.fix, /set DATA_DIR=\/app\/data/);
  assert.match(p.fix, /or mount \/var\/lib\/grapheon\/data at \/data/);
});

Deno.test("DATA_DIR: fine when it names the mount of the host data dir (either way)", async () => {
  const c = await recorded();
  assert.equal(checkDataDir(withEnv(c, ["DATA_DIR=/app/data"]), config, null), null);
  assert.equal(checkDataDir(withEnv(c, ["DATA_DIR=/app/data/"]), config, null), null);
  const both = [...(c.Mounts ?? []), { Source: "/var/lib/grapheon/data", Destination: "/data" }];
  assert.equal(checkDataDir(withEnv(c, [], both), config, null), null, "host dir also at /data");
  // the mount source reported through a symlinked path (realpath of the config's dataDir)
  const real = [{ Source: "/persistent/grapheon/data", Destination: "/app/data" }];
  assert.equal(
    checkDataDir(withEnv(c, ["DATA_DIR=/app/data"], real), config, "/persistent/grapheon/data"),
    null,
  );
});

Deno.test("DATA_DIR: wrong when it names a mount of something else, or nothing is mounted", async () => {
  const c = await recorded();
  const other = [{ Source: "/srv/elsewhere", Destination: "/app/data" }];
  const p = checkDataDir(withEnv(c, ["DATA_DIR=/app/data"], other), config, null);
  assert.ok(p);
  assert.match(p.message, /is not mounted in the container/);
  assert.match(p.message, /\/app\/data is a mount of \/srv\/elsewhere/);
  assert.ok(checkDataDir(withEnv(c, ["DATA_DIR=/app/data"], []), config, null));
  assert.ok(
    checkDataDir(withEnv(c, ["DATA_DIR=/app/data", "DATA_DIR=/data"]), config, null),
    "last wins",
  );
});

Deno.test("the recorded container also runs :latest (unpinned tag)", async () => {
  const facts = await healthy();
  facts.containers.backend = withEnv(await recorded(), ["DATA_DIR=/app/data"]);
  const p = detectProblems(facts, config).find((x) => x.id === "unpinned-tag-backend");
  assert.ok(p);
  assert.match(p.message, /runs ghcr\.io\/badgerops\/grapheon-backend:latest, not .*:current/);
});

Deno.test("run tag drift: missing tag, or a tag naming another image", async () => {
  const facts = await healthy();
  facts.runTagIds.frontend = null;
  assert.deepEqual(ids(facts), ["run-tag-drift-frontend"]);
  facts.runTagIds.frontend = "1".repeat(64);
  const [p] = detectProblems(facts, config);
  assert.match(p.message, /next restart switches release/);
  assert.equal(p.severity, "warning");
});

Deno.test("units: .path unit not active, container units down", async () => {
  const facts = await healthy();
  facts.units["grapheon-upgrade.path"] = "failed";
  assert.deepEqual(ids(facts), ["upgrade-path-inactive"]);
  assert.match(
    detectProblems(facts, config)[0].fix,
    /systemctl reset-failed grapheon-upgrade\.path/,
  );
  facts.units["grapheon-upgrade.path"] = "inactive";
  assert.match(
    detectProblems(facts, config)[0].fix,
    /systemctl enable --now grapheon-upgrade\.path/,
  );
  delete facts.units["grapheon-upgrade.path"];
  assert.match(detectProblems(facts, config)[0].message, /is unknown/);
  const down = await healthy();
  down.units[config.backend.service] = "activating";
  down.containers.backend = {
    ...down.containers.backend!,
    State: { Status: "exited", Running: false },
  };
  down.health = { status: null, version: null, error: "connection refused" };
  assert.deepEqual(ids(down).sort(), ["backend-down", "backend-unhealthy"]);
});

Deno.test("socket activation: a stopped socket and a backend that is not uvicorn are errors", async () => {
  const facts = await healthy();
  facts.units["grapheon-backend.socket"] = "failed";
  assert.deepEqual(ids(facts), ["backend-socket-inactive"]);
  assert.match(
    detectProblems(facts, config)[0].fix,
    /'systemctl reset-failed grapheon-backend\.socket grapheon-backend\.service' then 'systemctl start grapheon-backend\.socket'/,
  );
  const other = await healthy();
  other.backendCommand = ["gunicorn", "main:app"];
  assert.deepEqual(ids(other), ["backend-not-socket-server"]);
  assert.match(detectProblems(other, config)[0].message, /runs \["gunicorn","main:app"\]/);
  // Not inspectable: nothing is claimed.
  other.backendCommand = null;
  assert.deepEqual(ids(other), []);
});

Deno.test("health: degraded is accepted (config), unhealthy is not", async () => {
  const facts = await healthy();
  facts.health.status = "degraded";
  assert.deepEqual(ids(facts), []);
  facts.health.status = "unhealthy";
  assert.deepEqual(ids(facts), ["backend-unhealthy"]);
});

Deno.test("disk: under 10% or under 2 GiB free is nearly full; df failure is a warning", () => {
  const at = (avail: number, size: number) =>
    checkDisk({ path: "/var/lib/containers/storage", availBytes: avail, sizeBytes: size });
  assert.equal(at(40 * GIB, 100 * GIB), null);
  assert.equal(at(2 * GIB, 20 * GIB), null, "exactly 10% and 2 GiB");
  assert.equal(at(9.9 * GIB, 100 * GIB)?.id, "disk-low");
  assert.equal(at(1.9 * GIB, 10 * GIB)?.id, "disk-low", "19% but under 2 GiB");
  assert.equal(at(0, 0)?.id, "disk-low");
  const unknown = checkDisk({ path: "/x", error: "df exited 1" });
  assert.equal(unknown?.id, "disk-unknown");
  assert.equal(unknown?.severity, "warning");
});

Deno.test("job: interrupted journal, stale running status, stuck request, invalid request", async () => {
  const facts = await healthy();
  const pair = {
    backend: { version: "0.10.3", imageId: "a".repeat(64) },
    frontend: { version: "0.10.3", imageId: "b".repeat(64) },
  };
  facts.journal = {
    id: "j",
    kind: "upgrade",
    trigger: "request",
    startedAt: "2026-03-14T02:50:00Z",
    attempts: 2,
    phase: "swapping",
    from: pair,
    to: pair,
    requestText: null,
    backup: null,
    failure: null,
  };
  facts.status = { status: "running", step: 4 };
  assert.deepEqual(ids(facts), ["job-interrupted"], "a running status is explained by the journal");
  facts.lockHeld = true;
  assert.deepEqual(ids(facts), [], "an upgrade running now is no problem");
  facts.lockHeld = false;
  facts.journal = null;
  assert.deepEqual(ids(facts), ["status-stuck"]);
  facts.status = { status: "error", message: "status file is not valid JSON" };
  assert.deepEqual(ids(facts), ["status-unreadable"]);
  facts.status = null;
  facts.request = {
    present: true,
    backend: "0.10.4",
    frontend: "0.10.4",
    requestedAt: "2026-03-14T02:59:00Z",
    error: null,
  };
  assert.deepEqual(ids(facts), [], "a request a minute old is just pending");
  facts.request.requestedAt = "2026-03-14T02:40:00Z";
  assert.deepEqual(ids(facts), ["request-stuck"]);
  facts.request = { present: true, backend: null, frontend: null, requestedAt: null, error: "bad" };
  assert.deepEqual(ids(facts), ["request-invalid"]);
});

Deno.test("errors come before warnings", async () => {
  const facts = await healthy();
  facts.runTagIds.backend = null;
  facts.units["grapheon-upgrade.path"] = "inactive";
  assert.deepEqual(detectProblems(facts, config).map((p) => p.severity), ["error", "warning"]);
});

Deno.test("parseDf: GNU df --output=avail,size -B1", () => {
  assert.deepEqual(parseDf("       Avail    1B-blocks\n84561424384 270553174016\n"), {
    availBytes: 84561424384,
    sizeBytes: 270553174016,
  });
  assert.equal(parseDf(""), null);
  assert.equal(parseDf("Avail Size\n- -\n"), null);
});

Deno.test("lock probe: /proc/locks lines, and a lock really held by this process", async () => {
  const text = "1: FLOCK  ADVISORY  WRITE 11512 fe:00:2146603 0 EOF\n" +
    "1: -> FLOCK  ADVISORY  WRITE 11600 fe:00:999 0 EOF\n";
  assert.equal(inodeLocked(text, 2146603), true);
  assert.equal(inodeLocked(text, 999), false, "a waiter does not hold it");
  assert.equal(inodeLocked(text, 21466), false);
  const dir = await Deno.makeTempDir({ prefix: "grapheon-lock-" });
  try {
    assert.equal(await lockHeld(dir), false, "no lock file");
    {
      using _l = await acquireLock(dir, "test");
      assert.equal(await lockHeld(dir), true);
    }
    assert.equal(await lockHeld(dir), false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
