/**
 * SIGKILL at every phase of an upgrade, then a plain second run (what systemd
 * starts because the request is still there): the host must end on a healthy
 * known version, with a terminal status, the request handled and nothing left.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { Harness } from "../harness/harness.ts";

interface KillPoint {
  name: string;
  release: string;
  match: (h: Harness) => string[];
  nth?: number;
  when?: "before" | "after";
  /** Version serving at the end. */
  expect: string;
  /** Exit code of the second run. */
  code: number;
}

const POINTS: KillPoint[] = [
  {
    name: "after the backup",
    release: "0.3.0",
    match: () => ["podman", "pull"],
    expect: "0.3.0",
    code: 0,
  },
  {
    name: "after the backend pull",
    release: "0.3.0",
    match: (h) => ["podman", "pull", h.ref("frontend", "0.3.0")],
    expect: "0.3.0",
    code: 0,
  },
  {
    name: "during the canary",
    release: "0.3.0",
    match: () => ["podman", "run"],
    when: "after",
    expect: "0.3.0",
    code: 0,
  },
  {
    name: "before the swap",
    release: "0.3.0",
    match: () => ["podman", "tag"],
    expect: "0.3.0",
    code: 0,
  },
  {
    name: "between the backend and frontend restarts",
    release: "0.3.0",
    match: (h) => ["systemctl", "restart", h.config.backend.service],
    when: "after",
    expect: "0.3.0",
    code: 0,
  },
  {
    name: "after both restarts",
    release: "0.3.0",
    match: (h) => ["systemctl", "restart", h.config.frontend.service],
    when: "after",
    expect: "0.3.0",
    code: 0,
  },
  {
    name: "during the rollback of a bad release",
    release: "0.3.1",
    match: (h) => ["systemctl", "restart", h.config.backend.service],
    nth: 2,
    when: "after",
    expect: "0.2.0",
    code: 6,
  },
];

for (const point of POINTS) {
  Deno.test(`SIGKILL ${point.name}, then a plain run heals the host`, async () => {
    await using h = await Harness.create();
    await h.writeRequest(Harness.request(point.release));
    await h.killToolOn(point.match(h), { nth: point.nth, when: point.when });
    const args = point.release === "0.3.1" ? ["upgrade", "--no-canary"] : ["upgrade"];
    const killed = await h.runTool(args);
    assert.equal(
      killed.signal ?? killed.code,
      killed.signal ? "SIGKILL" : 137,
      `killed: ${killed.stderr}`,
    );
    const journal = join(h.config.stateDir, "journal.json");
    assert.ok(await Deno.lstat(journal).then(() => true, () => false), "a journal was left");
    const second = await h.runTool(args);
    assert.equal(second.code, point.code, second.stderr);
    assert.match(second.stderr, /resuming interrupted upgrade/);
    const s = (await h.readStatus())!;
    assert.ok(
      s.status === "completed" || s.status === "failed",
      `terminal status, got ${s.status}`,
    );
    const live = await h.waitForVersion(point.expect, 3000);
    assert.ok(live.ok && live.status === 200, `healthy ${point.expect}: ${JSON.stringify(live)}`);
    assert.equal(h.runningVersions().backend, point.expect);
    assert.equal(h.runningVersions().frontend, point.expect);
    assert.equal(await Deno.lstat(journal).then(() => true, () => false), false, "journal cleared");
    const requestLeft = await Deno.lstat(join(h.dataDir, "upgrade-requested")).then(
      () => true,
      () => false,
    );
    assert.equal(requestLeft, false, "request handled");
    assert.equal(h.state().containers["grapheon-backend-canary"], undefined, "no canary left");
    const third = await h.runTool(["upgrade"]);
    assert.equal(third.code, 0, "nothing left to do");
  });
}

Deno.test("SIGKILL during the health check, then a plain run completes", async () => {
  await using h = await Harness.create({
    releases: {
      backend: { "0.3.9": { behaviour: "slow-start", startDelayMs: 2500 } },
      frontend: { "0.3.9": "healthy" },
    },
  });
  await h.writeRequest(Harness.request("0.3.9"));
  const child = h.spawnTool(["upgrade", "--no-canary"]);
  // Up to a minute to reach step 5: a loaded machine took more than the 10 s once allowed.
  for (let i = 0; i < 2400 && (await h.readStatus())?.step !== 5; i++) {
    await new Promise((r) => setTimeout(r, 25));
  }
  assert.equal((await h.readStatus())?.step, 5, "killed during the health check");
  child.kill("SIGKILL");
  await child.status;
  const journal = JSON.parse(await Deno.readTextFile(join(h.config.stateDir, "journal.json")));
  assert.equal(journal.phase, "verifying");
  const second = await h.runTool(["upgrade"]);
  assert.equal(second.code, 0, second.stderr);
  assert.match(second.stderr, /resuming interrupted upgrade .* at phase verifying/);
  assert.equal((await h.readStatus())!.status, "completed");
  assert.equal(h.runningVersions().backend, "0.3.9");
});

Deno.test("SIGKILL while pruning old images: the upgrade is already complete", async () => {
  await using h = await Harness.create();
  await h.writeRequest(Harness.request("0.3.0"));
  // The pruning's listing is the one filtered by repository (the live state's lists them all).
  await h.killToolOn(["podman", "images", "--format", "json", "--filter"]);
  const killed = await h.runTool(["upgrade"]);
  assert.notEqual(killed.code, 0);
  assert.equal((await h.readStatus())!.status, "completed");
  assert.equal(
    await Deno.lstat(join(h.config.stateDir, "journal.json")).then(() => true, () => false),
    false,
  );
  const again = await h.runTool(["upgrade"]);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(h.runningVersions().backend, "0.3.0");
});

Deno.test("repeated crashes stop after maxAttempts with a terminal failed status", async () => {
  await using h = await Harness.create({ configOverrides: { maxAttempts: 2 } });
  await h.writeRequest(Harness.request("0.3.0"));
  await h.setFault({ match: ["podman", "pull"], action: "kill-tool", times: 100 });
  for (let i = 0; i < 2; i++) {
    const r = await h.runTool(["upgrade"]);
    assert.notEqual(r.code, 0);
  }
  const last = await h.runTool(["upgrade"]);
  assert.equal(last.code, 1, last.stderr);
  const s = (await h.readStatus())!;
  assert.equal(s.status, "failed");
  assert.match(String(s.message), /interrupted 2 times/);
  assert.match(String(s.message), /Still running 0\.2\.0/);
  assert.equal(h.runningVersions().backend, "0.2.0");
  const requestLeft = await Deno.lstat(join(h.dataDir, "upgrade-requested")).then(
    () => true,
    () => false,
  );
  assert.equal(requestLeft, false, "no endless re-trigger");
});

Deno.test("a status left running with no journal is made terminal", async () => {
  await using h = await Harness.create();
  await Deno.writeTextFile(
    join(h.dataDir, "upgrade-status.json"),
    JSON.stringify({
      status: "running",
      message: "Pulling backend container",
      step: 2,
      total_steps: 5,
      progress: 40,
    }),
  );
  const r = await h.runTool(["upgrade", "--recover"]);
  assert.equal(r.code, 0, r.stderr);
  const s = (await h.readStatus())!;
  assert.equal(s.status, "failed");
  assert.match(String(s.message), /interrupted/);
});

Deno.test("repeated crashes after the swap end with one last rollback to the known-good release", async () => {
  await using h = await Harness.create({ configOverrides: { maxAttempts: 2 } });
  await h.writeRequest(Harness.request("0.3.0"));
  // Killed as the frontend's restart begins, once in each run: the backend has been swapped
  // (live is touched), and a resumed run restarts the frontend again.
  await h.setFault({
    match: ["systemctl", "restart", h.config.frontend.service],
    action: "kill-tool",
    times: 2,
  });
  for (let i = 0; i < 2; i++) {
    assert.notEqual((await h.runTool(["upgrade", "--no-canary"])).code, 0);
  }
  const last = await h.runTool(["upgrade", "--no-canary"]);
  assert.equal(last.code, 6, last.stderr);
  const s = (await h.readStatus())!;
  assert.equal(s.rolled_back, true);
  assert.match(String(s.message), /interrupted 2 times/);
  assert.equal(h.runningVersions().backend, "0.2.0");
  assert.equal(h.runningVersions().frontend, "0.2.0");
});
