/**
 * `grapheon-tool status` end to end on the hermetic harness: a healthy host,
 * each listed problem detected with its fix, an interrupted journal (and the
 * rollback that follows it); every `--json` output validated by the schema.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { Journal } from "../../lib/job/journal.ts";
import { withState } from "../harness/state.ts";
import type { Harness } from "../harness/harness.ts";
import { operatorHost, parseJson, upgradeTo } from "./helpers.ts";
import { historyJsonSchema, statusJsonSchema } from "../../lib/cli/json_outputs.ts";

const GIB = 1024 ** 3;

async function status(h: Harness) {
  const r = await h.runTool(["status", "--json"]);
  const doc = statusJsonSchema.parse(parseJson(r.stdout));
  assert.equal(r.code, doc.problems.length ? 1 : 0, "exit code says whether problems were found");
  return doc;
}

function problem(
  doc: { problems: { id: string; fix: string; message: string; severity: string }[] },
  id: string,
) {
  const p = doc.problems.find((x) => x.id === id);
  assert.ok(p, `problem ${id} in ${JSON.stringify(doc.problems.map((x) => x.id))}`);
  return p;
}

Deno.test("status: a healthy host after an upgrade has no problems (exit 0)", async () => {
  await using op = await operatorHost();
  const { h } = op;
  await upgradeTo(h, "0.3.0");
  const doc = await status(h);
  assert.deepEqual(doc.problems, []);
  assert.equal(doc.ok, true);
  assert.equal(doc.backend.version, "0.3.0");
  assert.equal(doc.backend.version_source, "health");
  assert.equal(doc.backend.image_id, h.releaseId("backend", "0.3.0"));
  assert.ok(doc.backend.image_tags.includes(h.ref("backend", "0.3.0")));
  assert.equal(doc.backend.image_name, `${h.config.backend.image}:${h.config.runTag}`);
  assert.equal(doc.backend.data_dir, "/app/data");
  assert.equal(doc.frontend.version, "0.3.0");
  assert.equal(doc.frontend.version_source, "tags");
  assert.equal(doc.backend.unit_state, "active");
  assert.equal(doc.units["grapheon-upgrade.path"], "active");
  assert.equal(doc.upgrade.running, false);
  assert.deepEqual(doc.upgrade.request, { present: false });
  assert.equal(doc.upgrade.status?.status, "completed");
  assert.equal(doc.upgrade.journal, null);
  assert.equal(doc.history.length, 1);
  assert.equal(doc.history[0].who, "operator");
  assert.equal(doc.backups.length, 1);
  assert.ok("avail_bytes" in doc.disk);
  assert.ok(doc.disk.path.startsWith(h.dir), "disk path from podman info's graphRoot");

  const human = await h.runTool(["status"]);
  assert.equal(human.code, 0, human.stderr);
  assert.match(human.stdout, /no problems found/);
  assert.match(human.stdout, /backend\s+0\.3\.0, health healthy/);
});

Deno.test("status: DATA_DIR not a mount of the host data dir (the upstream bug)", async () => {
  await using op = await operatorHost({ backendUnitEnv: ["DATA_DIR=/data"] });
  const doc = await status(op.h);
  const p = problem(doc, "data-dir-not-mounted");
  assert.match(p.message, /DATA_DIR=\/data/);
  assert.match(p.message, /mounted at \/app\/data/);
  assert.match(p.fix, /DATA_DIR=\/app\/data/);
  assert.equal(doc.backend.data_dir, "/data");
  const human = await op.h.runTool(["status"]);
  assert.equal(human.code, 1);
  assert.match(human.stdout, /fix: set DATA_DIR=\/app\/data/);
  // and indeed: the web UI's upgrade request never reaches the host
  const post = await op.h.appRequestUpgrade();
  assert.ok(post.status < 300, JSON.stringify(post));
  assert.equal(await Deno.lstat(join(op.h.dataDir, "upgrade-requested")).catch(() => null), null);
});

Deno.test("status: grapheon-upgrade.path not active", async () => {
  await using op = await operatorHost();
  await op.setPathUnit("inactive");
  const doc = await status(op.h);
  const p = problem(doc, "upgrade-path-inactive");
  assert.match(p.message, /inactive/);
  assert.match(p.fix, /systemctl enable --now grapheon-upgrade\.path/);
  assert.equal(doc.problems.length, 1);
});

Deno.test("status: units run a tag the tool does not pin, or the pinned tag drifted", async () => {
  await using op = await operatorHost();
  const { h } = op;
  const unit = h.config.backend.service;
  const latest = `${h.config.backend.image}:latest`;
  assert.equal(
    (await h.double("podman", ["tag", h.releaseId("backend", "0.2.0"), latest])).code,
    0,
  );
  await withState(h.stateDir, (s) => {
    (s.units[unit] as unknown as { runTag: string }).runTag = "latest";
  });
  assert.equal((await h.double("systemctl", ["restart", unit])).code, 0);
  await h.waitForListeners();
  const doc = await status(h);
  const p = problem(doc, "unpinned-tag-backend");
  assert.match(p.message, new RegExp(`runs ${latest.replaceAll(".", "\\.")}`));
  assert.match(p.fix, /grapheon-tool install/);
  assert.ok(!doc.problems.some((x) => x.id === "unpinned-tag-frontend"));

  // back on the pinned tag, but the tag now names another image than the one running
  await withState(h.stateDir, (s) => {
    (s.units[unit] as unknown as { runTag: string }).runTag = h.config.runTag;
  });
  assert.equal((await h.double("systemctl", ["restart", unit])).code, 0);
  await h.install("backend", "0.3.0", { runTag: true });
  const drift = await status(h);
  const d = problem(drift, "run-tag-drift-backend");
  assert.match(d.message, /next restart switches release/);
  assert.match(d.fix, /podman tag/);
});

Deno.test("status: disk nearly full where podman keeps images", async () => {
  await using op = await operatorHost();
  await op.setDisk(1 * GIB, 100 * GIB);
  const low = problem(await status(op.h), "disk-low");
  assert.match(low.message, /1\.0 GiB free of 100\.0 GiB/);
  assert.match(low.fix, /podman image prune/);
  await op.setDisk(5 * GIB, 200 * GIB); // 2.5%: over 2 GiB but under 10%
  problem(await status(op.h), "disk-low");
  await op.setDisk(3 * GIB, 20 * GIB); // 15% and 3 GiB
  assert.deepEqual((await status(op.h)).problems, []);
});

Deno.test("status: a stale status and an invalid request, each with its fix", async () => {
  await using op = await operatorHost();
  const { h } = op;
  await Deno.writeTextFile(
    join(h.dataDir, "upgrade-status.json"),
    JSON.stringify({ status: "running", step: 3, message: "Pulling frontend container" }),
  );
  await h.writeRequest("not a version");
  const doc = await status(h);
  assert.match(problem(doc, "status-stuck").fix, /grapheon-tool rollback --clear/);
  assert.match(problem(doc, "request-invalid").fix, /grapheon-tool rollback --clear/);
  assert.equal((await h.runTool(["rollback", "--clear"])).code, 0);
  assert.deepEqual((await status(h)).problems, []);
});

Deno.test("status: an interrupted upgrade in the journal; rollback then goes back to its from", async () => {
  await using op = await operatorHost();
  const { h } = op;
  await upgradeTo(h, "0.3.0");
  // an upgrade to 0.3.5 killed while verifying: 0.3.5 runs, the journal remains
  await h.install("backend", "0.3.5");
  await h.install("frontend", "0.3.5");
  await h.startUnitDirectly("backend");
  await h.startUnitDirectly("frontend");
  await h.waitForListeners();
  const rel = (which: "backend" | "frontend", v: string) => ({
    version: v,
    imageId: h.releaseId(which, v),
  });
  const journal: Journal = {
    id: "20260101T000000Z-abcdef",
    kind: "upgrade",
    trigger: "request",
    startedAt: new Date().toISOString(),
    attempts: 1,
    phase: "verifying",
    from: { backend: rel("backend", "0.3.0"), frontend: rel("frontend", "0.3.0") },
    to: { backend: rel("backend", "0.3.5"), frontend: rel("frontend", "0.3.5") },
    requestText: null,
    backup: null,
    failure: null,
  };
  await Deno.writeTextFile(join(h.config.stateDir, "journal.json"), JSON.stringify(journal));
  const doc = await status(h);
  const p = problem(doc, "job-interrupted");
  assert.match(p.message, /phase verifying/);
  assert.match(p.fix, /systemctl start grapheon-upgrade\.service/);
  assert.match(p.fix, /grapheon-tool rollback/);
  assert.ok(doc.upgrade.journal && "interrupted" in doc.upgrade.journal);
  assert.equal(doc.upgrade.journal.interrupted, true);
  assert.equal(doc.upgrade.journal.phase, "verifying");

  const r = await h.runTool(["rollback", "--yes"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(h.runningVersions().backend, "0.3.0", "the interrupted upgrade's from, not 0.2.0");
  const hist = historyJsonSchema.parse(parseJson((await h.runTool(["history", "--json"])).stdout));
  assert.equal(hist.entries[0].kind, "rollback");
  assert.equal(hist.entries[1].id, journal.id);
  assert.equal(hist.entries[1].result, "failed");
  assert.match(hist.entries[1].message, /superseded by an operator rollback/);
  assert.deepEqual((await status(h)).problems, []);
});

Deno.test("status: a request nobody acted on for minutes is stuck (bare version: by the file's time)", async () => {
  await using op = await operatorHost();
  const { h } = op;
  await h.writeRequest("0.3.0");
  const fresh = await status(h);
  assert.ok(!fresh.problems.some((p) => p.id === "request-stuck"), "just written: pending");
  assert.equal(fresh.upgrade.request.present, true);
  const old = new Date(Date.now() - 10 * 60_000);
  await Deno.utime(join(h.dataDir, "upgrade-requested"), old, old);
  const doc = await status(h);
  const p = problem(doc, "request-stuck");
  assert.equal(p.severity, "warning");
  assert.match(p.fix, /systemctl start grapheon-upgrade\.service/);
});
