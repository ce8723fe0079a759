/**
 * Issue 13: a bad release is caught by what it does, not by a deadline. Every test
 * sets the deadlines to minutes (the shipped defaults), so before fail-fast these
 * ended at the deadline with "not healthy within …" and without the exit code. The crash
 * is seen either while the container starts or, on a slower machine, in the backend's health
 * gate: neither may read as a deadline.
 */
import assert from "node:assert/strict";
import { Harness } from "../harness/harness.ts";

const LONG = {
  timeouts: { health: "120s", restart: "90s", canary: "90s" },
};

const status = async (h: Harness) => (await h.readStatus()) as Record<string, unknown>;

for (
  const [version, why] of [
    ["0.3.2", /exited with code 1.*last log lines: /],
    ["0.4.0", /exited with code 1.*last log lines: .*JWT_SECRET/],
  ] as const
) {
  Deno.test(`fail fast, no canary: ${version} exits at start: rolled back, message names the exit code and log`, async () => {
    await using h = await Harness.create({ configOverrides: LONG });
    const before = h.runningImageIds();
    await h.writeRequest(Harness.request(version));
    const r = await h.runTool(["upgrade", "--no-canary"]);
    assert.equal(r.code, 6, r.stderr);
    assert.deepEqual(h.runningImageIds(), before);
    const s = await status(h);
    assert.equal(s.status, "failed");
    assert.equal(s.rolled_back, true);
    assert.match(String(s.message), why);
    assert.doesNotMatch(
      String(s.message),
      /not healthy within|did not come up on image [0-9a-f]+: no container/,
    );
  });
}

Deno.test("fail fast, no canary: a release answering 503 fails after a run of unhealthy answers", async () => {
  await using h = await Harness.create({ configOverrides: LONG });
  await h.writeRequest(Harness.request("0.3.1"));
  const r = await h.runTool(["upgrade", "--no-canary"]);
  assert.equal(r.code, 6, r.stderr);
  const s = await status(h);
  assert.equal(s.rolled_back, true);
  assert.match(
    String(s.message),
    /3 unhealthy answers in a row: status 503 \(body status=unhealthy\)/,
  );
});

Deno.test("fail fast, canary: a 503 release is refused after a run of unhealthy answers", async () => {
  await using h = await Harness.create({ configOverrides: LONG });
  await h.writeRequest(Harness.request("0.3.1"));
  const r = await h.runTool(["upgrade"]);
  assert.equal(r.code, 8, r.stderr);
  assert.equal(h.calls("systemctl", "restart").length, 0, "live untouched");
  const s = await status(h);
  assert.match(String(s.message), /canary \(3 unhealthy answers in a row: status 503/);
});

Deno.test("fail fast, canary: a crashing release is refused with its exit code", async () => {
  await using h = await Harness.create({ configOverrides: LONG });
  await h.writeRequest(Harness.request("0.4.0"));
  const r = await h.runTool(["upgrade"]);
  assert.equal(r.code, 8, r.stderr);
  assert.match(
    String((await status(h)).message),
    /exited with code 1; last log lines: .*JWT_SECRET/,
  );
});

Deno.test("fail fast: a silent (slow-start) release is waited for even with no start period", async () => {
  await using h = await Harness.create({
    configOverrides: { ...LONG, health: { startPeriod: "0s", unhealthyThreshold: 1 } },
  });
  await h.writeRequest(Harness.request("0.3.4")); // listens only after 1.5 s
  const r = await h.runTool(["upgrade", "--no-canary"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal((await status(h)).status, "completed");
  assert.deepEqual(h.runningVersions(), { backend: "0.3.4", frontend: "0.3.4" });
});
