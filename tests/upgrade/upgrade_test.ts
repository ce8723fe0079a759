import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { Harness } from "../harness/harness.ts";
import { upgradeJsonSchema } from "../../lib/cli/json_outputs.ts";
import { dryRunSchema } from "../../lib/upgrade/mod.ts";

const status = async (h: Harness) => (await h.readStatus()) as Record<string, unknown>;
const requestExists = async (h: Harness) =>
  await Deno.lstat(join(h.dataDir, "upgrade-requested")).then(() => true, () => false);
const history = async (h: Harness) =>
  JSON.parse(await Deno.readTextFile(join(h.config.stateDir, "history.json")));

Deno.test("upgrade: app request → backup, pulls, swap, healthy new version, completed", async () => {
  await using h = await Harness.create();
  const before = h.runningImageIds();
  await h.writeRequest(Harness.request("0.3.0"));
  const r = await h.runTool(["upgrade"]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(h.runningVersions(), { backend: "0.3.0", frontend: "0.3.0" });
  assert.deepEqual(h.runningImageIds(), {
    backend: h.releaseId("backend", "0.3.0"),
    frontend: h.releaseId("frontend", "0.3.0"),
  });
  const live = await h.waitForVersion("0.3.0", 2000);
  assert.ok(live.ok && live.body.version === "0.3.0");
  const s = await status(h);
  assert.equal(s.status, "completed");
  assert.equal(s.step, 5);
  assert.equal(s.total_steps, 5);
  assert.equal(s.progress, 100);
  assert.equal(s.from_version, "0.2.0");
  assert.equal(s.to_version, "0.3.0");
  assert.equal(s.rolled_back, false);
  assert.match(String(s.updated_at), /Z$/);
  // the snapshot is a consistent copy of the live database
  const backup = String(s.backup);
  assert.match(backup, /network-0\.2\.0-\d{8}T\d{6}Z\.db$/);
  const db = new DatabaseSync(backup, { readOnly: true });
  const n = (db.prepare("SELECT count(*) AS n FROM hosts").get() as { n: number }).n;
  db.close();
  assert.ok(n >= 5, `backup has the rows (${n})`);
  assert.equal(await requestExists(h), false, "request moved out of the data dir");
  const archived = [...Deno.readDirSync(join(h.config.stateDir, "requests"))].map((e) => e.name);
  assert.equal(archived.length, 1);
  assert.match(archived[0], /\.completed$/);
  const hist = await history(h);
  assert.equal(hist.at(-1).result, "completed");
  assert.equal(hist.at(-1).from.backend.imageId, before.backend);
  assert.equal(hist.at(-1).trigger, "request");
  // the previous release's images are kept, with their version tags
  assert.equal(h.localImage(h.ref("backend", "0.2.0")), before.backend);
});

Deno.test("upgrade: backend and frontend versions may differ", async () => {
  await using h = await Harness.create();
  await h.writeRequest(Harness.request("0.3.0", "0.3.5"));
  const r = await h.runTool(["upgrade"]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(h.runningVersions(), { backend: "0.3.0", frontend: "0.3.5" });
});

Deno.test("upgrade: --version runs without a request file", async () => {
  await using h = await Harness.create();
  const r = await h.runTool(["upgrade", "--version", "v0.3.0"]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(h.runningVersions(), { backend: "0.3.0", frontend: "0.3.0" });
  assert.equal((await history(h)).at(-1).trigger, "operator");
});

Deno.test("upgrade: no request is a quiet no-op", async () => {
  await using h = await Harness.create();
  const r = await h.runTool(["upgrade"]);
  assert.equal(r.code, 0);
  assert.equal(await h.readStatus(), null);
  assert.equal(h.calls("podman", "pull").length, 0);
});

Deno.test("upgrade: pull failure restarts nothing, status failed, exit 1", async () => {
  await using h = await Harness.create();
  await h.failPull(h.ref("frontend", "0.3.0"));
  await h.writeRequest(Harness.request("0.3.0"));
  const r = await h.runTool(["upgrade"]);
  assert.equal(r.code, 1, r.stderr);
  assert.equal(h.calls("systemctl", "restart").length, 0, "nothing restarted");
  assert.equal(h.calls("podman", "tag").length, 0, "run tag untouched");
  assert.deepEqual(h.runningVersions(), { backend: "0.2.0", frontend: "0.2.0" });
  const s = await status(h);
  assert.equal(s.status, "failed");
  assert.match(String(s.message), /could not pull .*grapheon-frontend:v0\.3\.0/);
  assert.match(String(s.message), /Still running 0\.2\.0/);
  assert.equal(s.step, 3, "reported under 'Pulling frontend container'");
  assert.equal(h.calls("podman", "pull", h.ref("frontend", "0.3.0")).length, 2, "retried once");
  assert.equal(await requestExists(h), false);
});

for (
  const [version, why] of [
    ["0.3.1", /status 503/],
    ["0.3.2", /refused|exited|not healthy|did not come up/],
    ["0.3.3", /version 0\.2\.0 ≠ 0\.3\.3/],
  ] as const
) {
  Deno.test(`upgrade --no-canary: bad release ${version} is rolled back to the exact previous images`, async () => {
    await using h = await Harness.create();
    const before = h.runningImageIds();
    await h.writeRequest(Harness.request(version));
    const r = await h.runTool(["upgrade", "--no-canary"]);
    assert.equal(r.code, 6, r.stderr);
    assert.deepEqual(h.runningImageIds(), before);
    const live = await h.waitForVersion("0.2.0", 3000);
    assert.ok(live.ok && live.status === 200, "old version serving");
    const s = await status(h);
    assert.equal(s.status, "failed");
    assert.equal(s.rolled_back, true);
    assert.match(String(s.message), why);
    assert.match(String(s.message), /Rolled back: the app is back on 0\.2\.0/);
    assert.equal((await history(h)).at(-1).result, "rolled-back");
    assert.equal(await requestExists(h), false);
  });
}

Deno.test("upgrade: canary refuses a bad release before anything live is touched (exit 8)", async () => {
  await using h = await Harness.create();
  await h.writeRequest(Harness.request("0.4.0")); // needs a real JWT_SECRET; the env file has the default
  const r = await h.runTool(["upgrade"]);
  assert.equal(r.code, 8, r.stderr);
  assert.equal(h.calls("systemctl", "restart").length, 0, "live units untouched");
  assert.deepEqual(h.runningVersions(), { backend: "0.2.0", frontend: "0.2.0" });
  const s = await status(h);
  assert.equal(s.status, "failed");
  assert.match(String(s.message), /canary/);
  assert.match(String(s.message), /JWT_SECRET/);
  assert.equal(h.state().containers["grapheon-backend-canary"], undefined, "canary removed");
});

Deno.test("upgrade: the rollback failing too says so and what to run by hand (exit 7)", async () => {
  await using h = await Harness.create();
  await h.failRestart(h.config.backend.service, { skip: 1 }); // forward restart works, the rollback's fails
  await h.writeRequest(Harness.request("0.3.1"));
  const r = await h.runTool(["upgrade", "--no-canary"]);
  assert.equal(r.code, 7, r.stderr);
  const s = await status(h);
  assert.equal(s.status, "failed");
  assert.equal(s.rolled_back, false);
  assert.match(String(s.message), /Rolling back to 0\.2\.0 failed too/);
  assert.match(String(s.message), /grapheon-tool rollback --to 0\.2\.0/);
  assert.equal((await history(h)).at(-1).result, "rollback-failed");
});

Deno.test("upgrade: a downgrade is refused unless --allow-downgrade", async () => {
  await using h = await Harness.create({ running: { backend: "0.3.0", frontend: "0.3.0" } });
  await h.writeRequest(Harness.request("0.2.0"));
  const r = await h.runTool(["upgrade"]);
  assert.equal(r.code, 4);
  assert.match(
    String((await status(h)).message),
    /refusing to downgrade the backend from 0\.3\.0 to 0\.2\.0/,
  );
  assert.equal(h.calls("podman", "pull").length, 0);
  assert.equal(await requestExists(h), false);
  const ok = await h.runTool(["upgrade", "--version", "0.2.0", "--allow-downgrade"]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.deepEqual(h.runningVersions(), { backend: "0.2.0", frontend: "0.2.0" });
});

Deno.test("upgrade: the version already running is a quick completed, nothing restarted", async () => {
  await using h = await Harness.create();
  await h.writeRequest(Harness.request("0.2.0"));
  const r = await h.runTool(["upgrade"]);
  assert.equal(r.code, 0, r.stderr);
  const s = await status(h);
  assert.equal(s.status, "completed");
  assert.match(String(s.message), /already running/);
  assert.equal(h.calls("systemctl", "restart").length, 0);
  assert.equal(h.calls("podman", "pull").length, 0);
  assert.equal(await requestExists(h), false);
});

Deno.test("upgrade: a status file symlinked outside the data dir is not followed", async () => {
  await using h = await Harness.create();
  const outside = join(h.dir, "outside-secret.txt");
  await Deno.writeTextFile(outside, "do not touch");
  await Deno.symlink(outside, join(h.dataDir, "upgrade-status.json"));
  await h.writeRequest(Harness.request("0.3.0"));
  const r = await h.runTool(["upgrade"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await Deno.readTextFile(outside), "do not touch");
  const info = await Deno.lstat(join(h.dataDir, "upgrade-status.json"));
  assert.ok(info.isFile && !info.isSymlink);
  assert.equal((await status(h)).status, "completed");
});

Deno.test("upgrade --dry-run prints the plan and changes nothing", async () => {
  await using h = await Harness.create();
  await h.writeRequest(Harness.request("0.3.0"));
  const r = await h.runTool(["upgrade", "--dry-run", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const plan = dryRunSchema.parse(JSON.parse(r.stdout));
  assert.ok(!("plan" in plan), "a plan, not 'no upgrade requested'");
  assert.equal(plan.decision, "upgrade");
  assert.equal(plan.canary.run, true);
  assert.equal(plan.from.backend.version, "0.2.0");
  assert.equal(plan.images.backend, "ghcr.io/badgerops/grapheon-backend:v0.3.0");
  assert.equal(await h.readStatus(), null);
  assert.equal(await requestExists(h), true);
  assert.equal(h.calls("podman", "pull").length + h.calls("systemctl", "restart").length, 0);
});

Deno.test("upgrade: a new request written during the upgrade is left for the next run", async () => {
  await using h = await Harness.create();
  await h.writeRequest(Harness.request("0.3.0"));
  await h.setFault({
    match: ["systemctl", "restart", h.config.backend.service],
    action: "delay",
    ms: 1500,
  });
  const child = h.spawnTool(["upgrade"]);
  // the app's "409 already in progress" never fires: it rewrites the request mid-upgrade
  for (let i = 0; i < 200 && (await h.readStatus().catch(() => null))?.step !== 4; i++) {
    await new Promise((r) => setTimeout(r, 50));
  }
  await h.writeRequest(Harness.request("0.3.5"));
  const out = await child.output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  assert.equal(await requestExists(h), true, "the newer request is still there");
  await h.clearFaults();
  const second = await h.runTool(["upgrade"]);
  assert.equal(second.code, 0, second.stderr);
  assert.equal(h.runningVersions().backend, "0.3.5");
});

Deno.test("upgrade: with the backend container gone, the run tag still tells what runs (no silent downgrade)", async () => {
  await using h = await Harness.create({ running: { backend: "0.3.0", frontend: "0.3.0" } });
  const rm = await h.double("podman", ["rm", "--force", h.config.backend.container]);
  assert.equal(rm.code, 0, rm.stderr);
  await h.writeRequest(Harness.request("0.2.0"));
  const r = await h.runTool(["upgrade"]);
  assert.equal(r.code, 4, r.stderr);
  assert.match(String((await status(h)).message), /downgrade the backend from 0\.3\.0 to 0\.2\.0/);
});

Deno.test("upgrade: the previous image keeps a name even when its version tag was re-published", async () => {
  await using h = await Harness.create();
  const before = h.runningImageIds();
  await h.install("backend", "0.3.5", { runTag: false });
  const retag = await h.double("podman", [
    "tag",
    h.releaseId("backend", "0.3.5"),
    h.ref("backend", "0.2.0"),
  ]);
  assert.equal(retag.code, 0, retag.stderr);
  const r = await h.runTool(["upgrade", "--version", "0.3.0"]);
  assert.equal(r.code, 0, r.stderr);
  const tags = h.state().images[before.backend!]?.repoTags ?? [];
  assert.ok(tags.includes(`${h.config.backend.image}:current-previous`), tags.join(","));
});

Deno.test("upgrade: a network.db that is a symlink is never backed up; nothing live changes", async () => {
  await using h = await Harness.create();
  const secret = join(h.dir, "not-the-app.db");
  await Deno.rename(join(h.dataDir, "network.db"), secret);
  await Deno.symlink(secret, join(h.dataDir, "network.db"));
  const r = await h.runTool(["upgrade", "--version", "0.3.0"]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(
    String((await status(h)).message),
    /network\.db: is a symlink; refusing to back it up/,
  );
  assert.equal(h.calls("systemctl", "restart").length, 0);
  assert.equal(
    [...Deno.readDirSync(h.config.stateDir)].some((e) =>
      e.name === "backups" &&
      [...Deno.readDirSync(join(h.config.stateDir, "backups"))].some((b) => b.name.endsWith(".db"))
    ),
    false,
  );
});

Deno.test("upgrade --version --json: one document; a re-run is a no-op with changed false", async () => {
  await using h = await Harness.create();
  const first = await h.runTool(["upgrade", "--version", "0.3.0", "--no-canary", "--json"]);
  assert.equal(first.code, 0, first.stderr);
  const doc = upgradeJsonSchema.parse(JSON.parse(first.stdout));
  assert.equal(doc.result, "completed");
  assert.equal(doc.changed, true);
  assert.equal(doc.exit_code, 0);
  assert.equal(doc.from?.backend.version, "0.2.0");
  assert.equal(doc.to?.backend.version, "0.3.0");
  assert.ok(doc.phases_ms.verifying !== undefined, JSON.stringify(doc.phases_ms));
  const again = await h.runTool(["upgrade", "--version", "0.3.0", "--json"]);
  assert.equal(again.code, 0, again.stderr);
  const noop = upgradeJsonSchema.parse(JSON.parse(again.stdout));
  assert.equal(noop.result, "noop");
  assert.equal(noop.changed, false);
  assert.equal(h.calls("podman", "pull").length, 2, "the re-run pulled nothing");
});
