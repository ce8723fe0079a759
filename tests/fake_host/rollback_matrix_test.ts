/**
 * The rollback over every phase × {fails, interrupted, killed then run again}
 * on the in-process fake host, after an upgrade 0.2.0 → 0.3.0: every cell ends
 * with a terminal status and no journal; a completed rollback serves 0.2.0; a
 * failed one exits 7 and says what to do by hand; one that failed before
 * anything live changed still serves 0.3.0; a killed one is finished by the
 * operator's next `rollback`.
 */
import assert from "node:assert/strict";
import { EXIT } from "../../lib/core/exit_codes.ts";
import { exitFor } from "../../lib/job/outcome.ts";
import type { Phase } from "../../lib/job/progress.ts";
import { readStatus } from "../../lib/job/status_file.ts";
import { runRollback } from "../../lib/rollback/job.ts";
import { prepareRollback } from "../../lib/rollback/prepare.ts";
import { upgrade } from "../../lib/upgrade/mod.ts";
import { FakeHost, goodReleases } from "./fake_host.ts";

async function upgraded(): Promise<FakeHost> {
  const fake = FakeHost.create({
    running: "0.2.0",
    published: goodReleases("0.2.0", "0.3.0"),
  });
  const up = await upgrade(fake.host(), {
    target: { backend: "0.3.0" as never, frontend: "0.3.0" as never },
    allowDowngrade: false,
    canary: true,
    recover: false,
    signal: new AbortController().signal,
  });
  assert.equal(up?.result, "completed");
  return fake;
}

async function rollBack(fake: FakeHost, signal = new AbortController().signal) {
  const host = fake.host();
  const plan = await prepareRollback(host, {});
  return await runRollback(host, plan, signal);
}

Deno.test("rollback matrix: every phase × fails / interrupted / killed then run again", async () => {
  const probe = await upgraded();
  const phases: Phase[] = [];
  probe.watch = (j) => {
    if (j.kind === "rollback" && phases.at(-1) !== j.phase) phases.push(j.phase);
  };
  assert.equal((await rollBack(probe)).outcome.result, "completed");
  probe.dispose();
  assert.deepEqual(phases, ["planned", "pulled", "swapping", "verifying", "finishing"]);
  for (const phase of phases) {
    for (const fault of ["fails", "interrupted", "killed"] as const) {
      const cell = `rollback / ${phase} / ${fault}`;
      const fake = await upgraded();
      const abort = new AbortController();
      let killed: FakeHost | null = null;
      fake.watch = (j, f) => {
        if (j.kind !== "rollback" || j.phase !== phase) return;
        if (fault === "fails" && f.state.failCall === null) {
          f.state.failCall = f.state.calls.length + 1;
        }
        if (fault === "interrupted") abort.abort(new Error("SIGTERM"));
        if (fault === "killed" && !killed) killed = f.snapshot();
      };
      let result = await rollBack(fake, abort.signal);
      let last = fake;
      if (killed) {
        last = killed;
        result = await rollBack(last);
      }
      const { outcome } = result;
      const status = await readStatus(last.config.dataDir);
      assert.equal(status?.status, outcome.result === "completed" ? "completed" : "failed", cell);
      assert.ok(
        ![...Deno.readDirSync(last.config.stateDir)].some((e) => e.name === "journal.json"),
        `${cell}: no journal left`,
      );
      if (outcome.result === "completed") {
        assert.deepEqual(last.serving(), { version: "0.2.0", healthy: true }, cell);
      } else {
        assert.equal(exitFor(outcome), EXIT.ROLLBACK_FAILED, cell);
        if (!result.liveTouched) {
          assert.deepEqual(last.serving(), { version: "0.3.0", healthy: true }, cell);
        } else assert.match(outcome.message, /By hand/, cell);
      }
      if (fault === "killed") assert.equal(outcome.result, "completed", `${cell}: finished`);
      if (last !== fake) last.dispose();
      fake.dispose();
    }
  }
});
