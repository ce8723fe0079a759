/**
 * The pre-flight canary: a bad release is refused before anything live is
 * touched, whatever way it is bad; a good one passes; the canary container is
 * always removed; it runs with the live environment and a private database copy.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { Harness } from "../harness/harness.ts";

async function expectRefused(h: Harness, version: string, why: RegExp): Promise<void> {
  const before = h.runningImageIds();
  await h.writeRequest(Harness.request(version));
  const r = await h.runTool(["upgrade"]);
  assert.equal(r.code, 8, r.stderr);
  assert.equal(h.calls("systemctl", "restart").length, 0, "no live restart");
  assert.equal(h.calls("podman", "tag").length, 0, "run tag untouched");
  assert.deepEqual(h.runningImageIds(), before);
  const s = (await h.readStatus())!;
  assert.equal(s.status, "failed");
  assert.equal(s.rolled_back, false);
  assert.match(String(s.message), /failed its canary/);
  assert.match(String(s.message), why);
  assert.match(String(s.message), /Nothing live was touched/);
  assert.equal(h.state().containers["grapheon-backend-canary"], undefined, "canary removed");
  assert.equal(h.calls("podman", "run").length, 1, "one canary");
}

Deno.test("canary: a release that exits at start (no JWT_SECRET) is refused with its log line", async () => {
  await using h = await Harness.create();
  await expectRefused(h, "0.4.0", /the container exited.*JWT_SECRET must be set/);
});

Deno.test("canary: an unhealthy (503) release is refused", async () => {
  await using h = await Harness.create();
  await expectRefused(h, "0.3.1", /status 503 \(body status=unhealthy\)/);
});

Deno.test("canary: a release reporting the wrong version is refused", async () => {
  await using h = await Harness.create();
  await expectRefused(h, "0.3.3", /version 0\.2\.0 ≠ 0\.3\.3/);
});

Deno.test("canary: a release that never answers is refused at the canary deadline", async () => {
  await using h = await Harness.create({ configOverrides: { timeouts: { canary: "2s" } } });
  await expectRefused(h, "0.3.6", /timeout after 1000 ms/);
});

Deno.test("canary: a release that crashes is refused", async () => {
  await using h = await Harness.create();
  await expectRefused(h, "0.3.2", /the container exited/);
});

Deno.test("canary: a good release passes with the live environment and a private database copy", async () => {
  // 0.4.0 needs a real JWT_SECRET: it passes only if the canary gets the live env file
  await using h = await Harness.create({ envFile: { JWT_SECRET: "a-real-secret" } });
  await h.writeRequest(Harness.request("0.4.0", "0.3.0"));
  const r = await h.runTool(["upgrade"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /canary: healthy with version 0\.4\.0/);
  const run = h.calls("podman", "run")[0].argv;
  assert.ok(run.includes("--env-file"), "the live env file is passed");
  const volume = run[run.indexOf("-v") + 1];
  assert.ok(
    !volume.startsWith(h.dataDir),
    `the canary does not mount the live data dir (${volume})`,
  );
  assert.match(run.join(" "), /-p 127\.0\.0\.1:\d+:8000/);
  assert.equal(h.state().containers["grapheon-backend-canary"], undefined, "canary removed");
  assert.equal(h.runningVersions().backend, "0.4.0");
  assert.equal(
    await Deno.stat(join(h.config.stateDir, "canary")).then(() => true, () => false),
    false,
    "scratch copy removed",
  );
});

Deno.test("canary: off with canary.enabled=false or --no-canary", async () => {
  await using h = await Harness.create({ configOverrides: { canary: { enabled: false } } });
  await h.writeRequest(Harness.request("0.3.0"));
  const r = await h.runTool(["upgrade"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(h.calls("podman", "run").length, 0);
  const r2 = await h.runTool(["upgrade", "--version", "0.3.5", "--no-canary"]);
  assert.equal(r2.code, 0, r2.stderr);
  assert.equal(h.calls("podman", "run").length, 0);
});

Deno.test("canary: a leftover canary from a killed run is removed before the next one", async () => {
  await using h = await Harness.create();
  await h.writeRequest(Harness.request("0.3.0"));
  await h.killToolOn(["podman", "run"], { when: "after" });
  await h.runTool(["upgrade"]);
  assert.ok(h.state().containers["grapheon-backend-canary"], "the kill left the canary running");
  const r = await h.runTool(["upgrade"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(h.state().containers["grapheon-backend-canary"], undefined);
});

Deno.test("canary: skipped with a warning when the containers use the host network", async () => {
  await using h = await Harness.create({ configOverrides: { network: "host" } });
  await h.writeRequest(Harness.request("0.3.0"));
  const r = await h.runTool(["upgrade"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /<4>canary skipped: the containers use the host network/);
  assert.equal(h.calls("podman", "run").length, 0);
});

Deno.test("canary: publishes the backend's container port on a loopback host port", async () => {
  await using h = await Harness.create({ configOverrides: { backend: { port: 18000 } } });
  await h.writeRequest(Harness.request("0.3.0"));
  const r = await h.runTool(["upgrade"]);
  assert.equal(r.code, 0, r.stderr);
  const run = h.calls("podman", "run")[0].argv.join(" ");
  assert.match(
    run,
    /-p 127\.0\.0\.1:\d+:8000 /,
    `container port 8000, not the host port 18000: ${run}`,
  );
});

Deno.test("canary: podman failing to start it (a sandbox, not the release) is a plain failure, not a refusal", async () => {
  await using h = await Harness.create();
  await h.setFault({
    match: ["podman", "run"],
    action: "fail",
    code: 126,
    stderr: "Error: crun: sethostname: Operation not permitted: OCI permission denied\n",
  });
  await h.writeRequest(Harness.request("0.3.0"));
  const r = await h.runTool(["upgrade"]);
  assert.equal(r.code, 1, r.stderr);
  const s = (await h.readStatus())!;
  assert.match(String(s.message), /canary container could not be started .*sethostname/);
  assert.match(String(s.message), /before anything live changed/);
  assert.doesNotMatch(String(s.message), /refused/);
  assert.equal(h.calls("systemctl", "restart").length, 0);
});
