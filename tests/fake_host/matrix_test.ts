/**
 * The upgrade and the rollback over every phase × {fails, interrupted, killed
 * then resumed}, every adapter call failing in turn, and a full state or data
 * filesystem from each phase on, on the in-process fake host: every cell must
 * end with a terminal status, the request handled, no journal left, and the
 * previous release serving or the new one verified, with the exit code the
 * README gives for its outcome.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { exitFor, type Outcome } from "../../lib/job/outcome.ts";
import type { Phase } from "../../lib/job/progress.ts";
import { readStatus } from "../../lib/job/status_file.ts";
import { readHistory } from "../../lib/job/history.ts";
import { writeRequest } from "../../lib/job/request_file.ts";
import { upgrade } from "../../lib/upgrade/mod.ts";
import { EXIT } from "../../lib/core/exit_codes.ts";
import { type Behaviour, FakeHost } from "./fake_host.ts";

const FROM = "0.2.0";
const TO = "0.3.0";

/** A host on 0.2.0 with 0.3.0 published (behaving as asked), and the app's request for 0.3.0. */
async function scene(behaviour: Behaviour = "good"): Promise<FakeHost> {
  const fake = FakeHost.create({
    running: FROM,
    published: [
      { component: "backend", version: FROM, behaviour: "good" },
      { component: "frontend", version: FROM, behaviour: "good" },
      { component: "backend", version: TO, behaviour },
      { component: "frontend", version: TO, behaviour: "good" },
    ],
  });
  await writeRequest(fake.config.dataDir, {
    backend: TO as never,
    frontend: TO as never,
    now: new Date(fake.state.now),
  });
  return fake;
}

function run(fake: FakeHost, options: { canary?: boolean; signal?: AbortSignal } = {}) {
  return upgrade(fake.host(), {
    target: null,
    allowDowngrade: false,
    canary: options.canary ?? true,
    recover: false,
    signal: options.signal ?? new AbortController().signal,
  });
}

/** The invariants every cell must hold once the last run has ended. */
async function assertSettled(fake: FakeHost, outcome: Outcome | null, cell: string) {
  assert.ok(outcome, `${cell}: a job ran`);
  const status = await readStatus(fake.config.dataDir);
  const code = exitFor(outcome);
  assert.equal(status?.status, code === EXIT.OK ? "completed" : "failed", `${cell}: status`);
  const left = [...Deno.readDirSync(fake.config.dataDir)].map((e) => e.name);
  assert.ok(!left.includes("upgrade-requested"), `${cell}: request handled (${left})`);
  assert.ok(
    !([...Deno.readDirSync(fake.config.stateDir)].some((e) => e.name === "journal.json")),
    `${cell}: no journal left`,
  );
  const serving = fake.serving();
  const expected = outcome.result === "completed" ? TO : FROM;
  if (outcome.result !== "rollback-failed") {
    assert.deepEqual(serving, { version: expected, healthy: true }, `${cell}: serving`);
  }
  assert.ok(
    [EXIT.OK, EXIT.FAILURE, EXIT.ROLLED_BACK, EXIT.CANARY_REFUSED, EXIT.ROLLBACK_FAILED]
      .includes(code as never),
    `${cell}: exit ${code}`,
  );
}

/** The phases a good upgrade writes, in order (measured, so the matrix follows the code). */
async function phasesOf(behaviour: Behaviour, canary: boolean): Promise<Phase[]> {
  const fake = await scene(behaviour);
  const seen: Phase[] = [];
  fake.watch = (j) => {
    if (seen.at(-1) !== j.phase) seen.push(j.phase);
  };
  await run(fake, { canary });
  fake.dispose();
  return seen;
}

const CASES: { name: string; behaviour: Behaviour; canary: boolean }[] = [
  { name: "good release", behaviour: "good", canary: true },
  { name: "release that exits at start, canary off", behaviour: "crash", canary: false },
  { name: "unhealthy release, canary on", behaviour: "unhealthy", canary: true },
];

for (const c of CASES) {
  Deno.test(`matrix: ${c.name}: every phase × fails / interrupted / killed then resumed`, async () => {
    const phases = await phasesOf(c.behaviour, c.canary);
    assert.ok(phases.length >= 3, `phases: ${phases}`);
    for (const phase of phases) {
      for (const fault of ["fails", "interrupted", "killed"] as const) {
        const cell = `${c.name} / ${phase} / ${fault}`;
        const fake = await scene(c.behaviour);
        const abort = new AbortController();
        let killed: FakeHost | null = null;
        fake.watch = (j, f) => {
          if (j.phase !== phase) return;
          if (fault === "fails" && f.state.failCall === null) {
            f.state.failCall = f.state.calls.length + 1;
          }
          if (fault === "interrupted") abort.abort(new Error("SIGTERM"));
          if (fault === "killed" && !killed) killed = f.snapshot();
        };
        let outcome = await run(fake, { canary: c.canary, signal: abort.signal });
        let last = fake;
        if (killed) {
          const resumed: FakeHost = killed;
          outcome = await run(resumed, { canary: c.canary });
          last = resumed;
        }
        await assertSettled(last, outcome, cell);
        if (last !== fake) last.dispose();
        fake.dispose();
      }
    }
  });
}

Deno.test("matrix: each adapter call of a good upgrade failing in turn (podman exit 125)", async () => {
  const probe = await scene();
  await run(probe);
  const total = probe.state.calls.length;
  probe.dispose();
  assert.ok(total > 10, `calls: ${total}`);
  for (let i = 1; i <= total; i++) {
    const fake = await scene();
    fake.state.failCall = i;
    const outcome = await run(fake);
    await assertSettled(fake, outcome, `call ${i} of ${total}`);
    fake.dispose();
  }
});

Deno.test("resume: killed while recording `completed` on its last attempt finishes the records (exit 0, no rollback)", async () => {
  const fake = await scene();
  let killed: FakeHost | null = null;
  fake.watch = (j, f) => {
    if (j.phase === "finishing" && !killed) killed = f.snapshot();
  };
  await run(fake);
  const resumed: FakeHost = killed!;
  const path = join(resumed.config.stateDir, "journal.json");
  const journal = JSON.parse(Deno.readTextFileSync(path));
  journal.attempts = resumed.config.maxAttempts; // the next run is past the cap
  Deno.writeTextFileSync(path, JSON.stringify(journal));
  const before = resumed.state.calls.length;
  const outcome = await run(resumed);
  assert.equal(outcome?.result, "completed");
  assert.equal(exitFor(outcome), EXIT.OK);
  assert.ok(
    !resumed.state.calls.slice(before).some((c) => c.startsWith("systemctl restart")),
    "nothing restarted",
  );
  await assertSettled(resumed, outcome, "finishing on the last attempt");
  resumed.dispose();
  fake.dispose();
});

Deno.test("resume: a canary refusal killed while recorded still exits 8 and restarts nothing", async () => {
  const fake = await scene("unhealthy");
  let killed: FakeHost | null = null;
  fake.watch = (j, f) => {
    if (j.phase === "finishing" && !killed) killed = f.snapshot();
  };
  const first = await run(fake);
  assert.equal(exitFor(first), EXIT.CANARY_REFUSED);
  const resumed: FakeHost = killed!;
  const before = resumed.state.calls.length;
  const outcome = await run(resumed);
  assert.equal(exitFor(outcome), EXIT.CANARY_REFUSED);
  assert.ok(!resumed.state.calls.slice(before).some((c) => c.startsWith("systemctl")));
  await assertSettled(resumed, outcome, "canary refusal resumed");
  const { entries } = await readHistory(resumed.config.stateDir);
  assert.equal(entries.at(-1)?.result, "refused");
  resumed.dispose();
  fake.dispose();
});

Deno.test("a podman error while reading the live state ends with a failed status and the request archived", async () => {
  const fake = await scene();
  fake.state.failCall = 1; // the very first call: inspecting the live backend
  const outcome = await run(fake);
  assert.equal(outcome?.result, "failed");
  assert.equal(exitFor(outcome), EXIT.FAILURE);
  assert.match((await readStatus(fake.config.dataDir))?.message ?? "", /injected failure/);
  await assertSettled(fake, outcome, "live state unreadable");
  fake.dispose();
});

Deno.test("canary: podman failing to run it is the host's failure (exit 1), not a refusal (exit 8)", async () => {
  const probe = await scene();
  await run(probe);
  const index = probe.state.calls.findIndex((c) => c.startsWith("podman run -d")) + 1;
  probe.dispose();
  assert.ok(index > 0);
  const fake = await scene();
  fake.state.failCall = index;
  const outcome = await run(fake);
  assert.equal(outcome?.result, "failed");
  assert.equal(exitFor(outcome), EXIT.FAILURE);
  assert.match(outcome?.message ?? "", /release was not judged/);
  const archived = [...Deno.readDirSync(join(fake.config.stateDir, "requests"))].map((e) => e.name);
  assert.ok(archived.some((n) => n.endsWith(".failed")), `${archived}`);
  await assertSettled(fake, outcome, "canary not judged");
  fake.dispose();
});
