/** Tests for the bench machinery: statistics, verdicts, the table, the runner's arguments, and one real health-bench run per variant. */
import assert from "node:assert/strict";
import { measureOnce } from "../../bench/health.ts";
import { parseBenchArgs } from "../../bench/run.ts";
import {
  type BenchRow,
  formatTable,
  median,
  quantile,
  rowToJson,
  summarize,
  verdictOf,
} from "../../bench/stats.ts";
import { REPO_ROOT } from "../util/cli.ts";

Deno.test("stats: median, quantiles by interpolation, summary", () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  const ten = [10, 1, 9, 2, 8, 3, 7, 4, 6, 5];
  assert.equal(quantile(ten, 0), 1);
  assert.equal(quantile(ten, 1), 10);
  assert.ok(Math.abs(quantile(ten, 0.9) - 9.1) < 1e-9);
  assert.ok(Math.abs(quantile(ten, 0.1) - 1.9) < 1e-9);
  assert.deepEqual(summarize([5]), { n: 1, median: 5, p10: 5, p90: 5, min: 5, max: 5 });
  assert.throws(() => median([]), RangeError);
  assert.deepEqual(ten, [10, 1, 9, 2, 8, 3, 7, 4, 6, 5], "input left unsorted");
});

Deno.test("stats: verdict compares the median with the target; not run is never ok", () => {
  const row = (samples: number[]): BenchRow => ({
    kind: "samples",
    name: "x",
    unit: "ms",
    samples,
    target: { below: 150 },
  });
  assert.equal(verdictOf(row([10, 20, 400])), "ok", "one slow run does not move the median");
  assert.equal(verdictOf(row([150, 150, 10])), "over", "the target is strict");
  assert.equal(verdictOf({ kind: "derived", name: "r", unit: "x", value: 3, n: 20 }), "no target");
  const notRun: BenchRow = {
    kind: "not_run",
    name: "lab: *",
    reason: "needs root",
    target: { below: 150 },
  };
  assert.equal(verdictOf(notRun), "not run");
  assert.equal(rowToJson(notRun).verdict, "not run");
});

Deno.test("stats: the table shows figures, targets, OVER and NOT RUN with the reason", () => {
  const table = formatTable([
    { kind: "samples", name: "fast", unit: "ms", samples: [10, 20, 30], target: { below: 150 } },
    { kind: "samples", name: "slow", unit: "ms", samples: [200, 210], target: { below: 150 } },
    { kind: "derived", name: "ratio", unit: "x", value: 3.2049, n: 20, note: "of medians" },
    { kind: "not_run", name: "lab: *", reason: "needs root" },
  ]);
  const lines = table.split("\n");
  assert.match(lines[0], /^name\s+median\s+p10\s+p90\s+min\s+max\s+n\s+target\s+verdict$/);
  assert.match(lines.find((l) => l.startsWith("fast"))!, /20 ms .* 3 +< 150 ms +ok$/);
  assert.match(lines.find((l) => l.startsWith("slow"))!, /205 ms .*< 150 ms +OVER$/);
  assert.match(lines.find((l) => l.startsWith("ratio"))!, /3\.20x/);
  assert.match(lines.find((l) => l.startsWith("lab"))!, /NOT RUN: needs root$/);
  assert.ok(lines.includes("  ratio: of medians"));
});

Deno.test("bench args: --only subsets in module order, unknown names rejected", () => {
  assert.deepEqual(parseBenchArgs([]).only, ["startup", "health", "upgrade", "lab"]);
  assert.deepEqual(parseBenchArgs(["--", "--only", "health"]).only, ["health"]);
  assert.deepEqual(parseBenchArgs(["--only", "health,startup"]).only, ["startup", "health"]);
  assert.deepEqual(parseBenchArgs(["--only", "lab", "--only", "health"]).only, ["health", "lab"]);
  assert.equal(parseBenchArgs(["--json"]).json, true);
  assert.throws(() => parseBenchArgs(["--only", "helth"]), /unknown module helth/);
  assert.throws(() => parseBenchArgs(["--runs", "3"]));
});

for (const variant of ["503", "refused"] as const) {
  Deno.test(`health bench: one real run (${variant}) exits healthy only after T`, async () => {
    const t = await measureOnce(REPO_ROOT, variant);
    assert.ok(t.toAnswer >= 0, "no healthy answer was given before T");
    assert.ok(t.answerToExit > 0, "the tool exited after its healthy answer");
    assert.ok(Math.abs(t.delay - (t.toAnswer + t.answerToExit)) < 0.01);
  });
}
