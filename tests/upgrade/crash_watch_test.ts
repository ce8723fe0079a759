/** The pure fail-fast decisions: a dead container, and a run of unhealthy answers. */
import assert from "node:assert/strict";
import { judgeDetached, judgeLiveness } from "../../lib/release/crash_watch.ts";
import { LivenessBaseline } from "../../lib/release/liveness.ts";
import { type UnitObservation, unitObservation } from "../../lib/host/systemd.ts";
import { nextUnhealthyRun, pollHealth } from "../../lib/health/poll.ts";
import { systemClock } from "../../lib/host/clock.ts";
import { HttpFailure, type HttpGet } from "../../lib/host/http.ts";

const running: UnitObservation = {
  activeState: "active",
  subState: "running",
  nRestarts: 0,
  execMainCode: 0,
  execMainStatus: 0,
};
const up = { status: "running", running: true, exitCode: 0, rightImage: true };

Deno.test("crash watch: systemctl show output becomes an observation", () => {
  const u = unitObservation({
    ActiveState: "activating",
    SubState: "auto-restart",
    NRestarts: "3",
    ExecMainCode: "1",
    ExecMainStatus: "1",
  });
  assert.deepEqual(u, {
    activeState: "activating",
    subState: "auto-restart",
    nRestarts: 3,
    execMainCode: 1,
    execMainStatus: 1,
    mainPid: null,
  });
  assert.equal(unitObservation({ ActiveState: "active", MainPID: "4242" })?.mainPid, 4242);
  assert.equal(unitObservation({}), null, "no ActiveState: nothing known");
  assert.equal(unitObservation({ ActiveState: "active", NRestarts: "" })?.nRestarts, null);
});

Deno.test("crash watch: a new main process after the tool's restart is a crash loop (socket-started)", () => {
  const first = { ...running, mainPid: 100 };
  assert.deepEqual(judgeLiveness({ unit: first, container: up }, 0, 100), { verdict: "wait" });
  // A connection to the socket started the unit again: NRestarts did not rise, the PID changed.
  const again = judgeLiveness({ unit: { ...running, mainPid: 200 }, container: up }, 0, 100);
  assert.equal(again.verdict, "dead");
  assert.match((again as { reason: string }).reason, /started again \(crash loop\)/);
  // No main process right now is no evidence either way.
  assert.deepEqual(
    judgeLiveness({ unit: { ...running, mainPid: null }, container: up }, 0, 100),
    { verdict: "wait" },
  );
});

Deno.test("crash watch: the baseline is the first look that reports NRestarts and MainPID", () => {
  const baseline = new LivenessBaseline();
  // Nothing known yet (systemctl could not be asked): no baseline, no verdict.
  assert.deepEqual(baseline.judge({ unit: null, container: null }), { verdict: "wait" });
  assert.deepEqual(baseline.judge({ unit: { ...running, mainPid: null }, container: up }), {
    verdict: "wait",
  });
  assert.deepEqual(baseline.judge({ unit: { ...running, mainPid: 100 }, container: up }), {
    verdict: "wait",
  });
  assert.equal(
    baseline.judge({ unit: { ...running, mainPid: 200 }, container: up }).verdict,
    "dead",
  );
  const restarts = new LivenessBaseline();
  restarts.judge({ unit: { ...running, nRestarts: 2 }, container: up });
  assert.equal(
    restarts.judge({ unit: { ...running, nRestarts: 3 }, container: up }).verdict,
    "dead",
  );
});

Deno.test("crash watch: a running container, or one still starting, is waited for", () => {
  assert.deepEqual(judgeLiveness({ unit: running, container: up }, 0), { verdict: "wait" });
  const starting = { ...running, activeState: "activating", subState: "start" };
  assert.deepEqual(judgeLiveness({ unit: starting, container: null }, 0), { verdict: "wait" });
  assert.deepEqual(
    judgeLiveness({ unit: running, container: { ...up, status: "created", running: false } }, 0),
    { verdict: "wait" },
  );
  assert.deepEqual(judgeLiveness({ unit: null, container: null }, null), { verdict: "wait" });
  // The old container (another image) that has exited is not the new release's death.
  const oldExited = { status: "exited", running: false, exitCode: 0, rightImage: false };
  assert.deepEqual(judgeLiveness({ unit: running, container: oldExited }, 0), { verdict: "wait" });
});

Deno.test("crash watch: an exited container is dead with its exit code", () => {
  const v = judgeLiveness({
    unit: running,
    container: { status: "exited", running: false, exitCode: 3, rightImage: true },
  }, 0);
  assert.equal(v.verdict, "dead");
  assert.equal(v.verdict === "dead" && v.exitCode, 3);
  assert.match(v.verdict === "dead" ? v.reason : "", /exited with code 3/);
  // What the lab's real podman 4.3 reported for a unit's container that exited by itself.
  const stopped = judgeLiveness({
    unit: running,
    container: { status: "stopped", running: false, exitCode: 1, rightImage: true },
  }, 0);
  assert.match(stopped.verdict === "dead" ? stopped.reason : "", /exited with code 1/);
});

Deno.test("crash watch: auto-restart, failed and a rising NRestarts are dead (the --rm container is gone)", () => {
  const exited = { execMainCode: 1, execMainStatus: 1 };
  const autoRestart = {
    ...running,
    activeState: "activating",
    subState: "auto-restart",
    ...exited,
  };
  const a = judgeLiveness({ unit: autoRestart, container: null }, 0);
  assert.equal(a.verdict, "dead");
  assert.match(a.verdict === "dead" ? a.reason : "", /exited with code 1 .*crash loop/);
  assert.equal(a.verdict === "dead" && a.exitCode, 1);

  const failed = { ...running, activeState: "failed", subState: "failed", ...exited };
  assert.match(
    (judgeLiveness({ unit: failed, container: null }, 0) as { reason: string }).reason,
    /unit failed .*exited with code 1/,
  );

  // Caught between two attempts: active again, but systemd restarted it since the baseline.
  const looped = { ...running, nRestarts: 2, ...exited };
  const l = judgeLiveness({ unit: looped, container: null }, 0);
  assert.match(l.verdict === "dead" ? l.reason : "", /restarted it 2 time/);
  assert.deepEqual(judgeLiveness({ unit: looped, container: null }, 2), { verdict: "wait" });
  assert.deepEqual(judgeLiveness({ unit: looped, container: null }, null), { verdict: "wait" });

  const killed = { ...autoRestart, execMainCode: 2, execMainStatus: 9 };
  const k = judgeLiveness({ unit: killed, container: null }, 0);
  assert.match(k.verdict === "dead" ? k.reason : "", /killed by signal 9/);
  assert.equal(k.verdict === "dead" && k.exitCode, null);
});

Deno.test("crash watch: a detached container (the canary) is dead once gone or ended", () => {
  assert.deepEqual(judgeDetached(up), { verdict: "wait" });
  assert.equal(judgeDetached(null).verdict, "dead");
  const e = judgeDetached({ status: "exited", running: false, exitCode: 1, rightImage: true });
  assert.match(e.verdict === "dead" ? e.reason : "", /exited with code 1/);
});

Deno.test("unhealthy run: counts answers that fail after the start period, never silence", () => {
  const bad = { ok: false, httpStatus: 503, reason: "status 503" };
  const silent = { ok: false, reason: "connection refused" };
  const good = { ok: true, httpStatus: 200 };
  assert.equal(nextUnhealthyRun(4, { verdicts: [bad], inStartPeriod: true }), 0);
  assert.equal(nextUnhealthyRun(0, { verdicts: [bad], inStartPeriod: false }), 1);
  assert.equal(nextUnhealthyRun(3, { verdicts: [good, bad], inStartPeriod: false }), 4);
  assert.equal(nextUnhealthyRun(3, { verdicts: [silent, good], inStartPeriod: false }), 0);
  assert.equal(nextUnhealthyRun(3, { verdicts: [good, good], inStartPeriod: false }), 0);
});

function poll(http: HttpGet, threshold: number | undefined, timeoutMs: number) {
  return pollHealth({
    urls: ["http://backend.invalid/health"],
    expect: { httpStatuses: [200], json: { status: ["healthy"] } },
    timeoutMs,
    intervalMs: 20,
    minIntervalMs: 5,
    requestTimeoutMs: 100,
    consecutive: 2,
    startPeriodMs: 50,
    unhealthyThreshold: threshold,
    once: false,
    http,
    clock: systemClock,
  });
}

const answer503: HttpGet = () =>
  Promise.resolve({ status: 503, body: JSON.stringify({ status: "unhealthy" }) });
const refused: HttpGet = () => Promise.reject(new HttpFailure("refused", "connection refused"));

Deno.test("unhealthy run: a backend answering 503 fails after the threshold, not at the deadline", async () => {
  const r = await poll(answer503, 3, 60_000);
  assert.equal(r.healthy, false);
  assert.equal(r.unhealthyRun, 3);
  assert.match(r.lastReason ?? "", /3 unhealthy answers in a row: status 503/);
  assert.ok(r.attempts.every((a) => a.atMs < 60_000));
});

Deno.test("unhealthy run: a silent backend keeps the whole deadline; no threshold keeps it too", async () => {
  const silent = await poll(refused, 3, 400);
  assert.equal(silent.healthy, false);
  assert.equal(silent.unhealthyRun, undefined);
  assert.match(silent.lastReason ?? "", /refused/);
  assert.ok(silent.elapsedMs >= 400, "waited out the deadline");
  const old = await poll(answer503, undefined, 300);
  assert.equal(old.unhealthyRun, undefined);
  assert.ok(old.elapsedMs >= 300);
});
