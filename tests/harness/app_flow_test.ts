/**
 * Self-test of the app's side: the fake backend's update endpoints, the frontend's /api/
 * proxy, and the path unit that turns the app's request into a real upgrade run.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { Harness, PATH_UNIT, UPGRADE_UNIT } from "./harness.ts";
import { withState } from "./state.ts";
import { BACKEND, waitFor } from "./test_helpers.ts";

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
