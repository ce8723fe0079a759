import assert from "node:assert/strict";
import { run, runChecked } from "../../lib/host/exec.ts";
import { CommandError } from "../../lib/core/errors.ts";

Deno.test("run captures output and exit code, argv is never a shell", async () => {
  const r = await run(["sh", "-c", "echo out; echo err >&2; exit 3"]);
  assert.equal(r.code, 3);
  assert.equal(r.stdout, "out\n");
  assert.equal(r.stderr, "err\n");
  const lit = await run(["echo", "$(touch /tmp/never) ; `id`"]);
  assert.equal(lit.stdout, "$(touch /tmp/never) ; `id`\n");
});

Deno.test("run times out and kills the command", async () => {
  const t0 = performance.now();
  await assert.rejects(
    () => run(["sleep", "5"], { timeoutMs: 200 }),
    (e: unknown) => e instanceof CommandError && /timed out after 200 ms/.test(e.message),
  );
  assert.ok(performance.now() - t0 < 4000, "did not wait for the command to finish");
});

Deno.test("runChecked puts the stderr tail in the error", async () => {
  await assert.rejects(
    () => runChecked(run, ["sh", "-c", "echo line1 >&2; echo 'boom: disk full' >&2; exit 2"]),
    (e: unknown) =>
      e instanceof CommandError && e.code === 2 &&
      /exited 2: line1 \| boom: disk full/.test(e.message),
  );
});

Deno.test("a missing program is a clear error", async () => {
  await assert.rejects(
    () => run(["grapheon-no-such-program"]),
    /cannot run grapheon-no-such-program: not found on PATH/,
  );
});

Deno.test("stdin is passed and stderr lines stream", async () => {
  const lines: string[] = [];
  const r = await run(["sh", "-c", "cat; echo a >&2; echo b >&2"], {
    stdin: "hello",
    onStderrLine: (l) => lines.push(l),
  });
  assert.equal(r.stdout, "hello");
  assert.deepEqual(lines, ["a", "b"]);
});
