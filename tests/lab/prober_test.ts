/** The prober's downtime arithmetic (pure; runs in the fast suite too). */
import assert from "node:assert/strict";
import { downtime, parseProbes, type Probe } from "./prober.ts";

function probes(pattern: string, start = 1000, step = 50): Probe[] {
  return [...pattern].map((c, i) => ({
    t: start + i * step,
    ms: 1,
    ok: c === "+",
    version: c === "+" ? "0.2.0" : null,
  }));
}

Deno.test("downtime: no failed probe is no downtime", () => {
  assert.equal(downtime(probes("+++++"), 0, 10_000), 0);
});

Deno.test("downtime: from the first failed probe to the next good one", () => {
  // fails at 1100, 1150, 1200; good again at 1250
  assert.equal(downtime(probes("++---++"), 0, 10_000), 150);
});

Deno.test("downtime: several outages add up, outside the window they do not count", () => {
  const p = probes("+-+--+-");
  assert.equal(downtime(p, 0, 1275), 50 + 100);
  assert.equal(downtime(p, 1100, 1250), 100);
});

Deno.test("downtime: still down at the end of the window counts to the end", () => {
  assert.equal(downtime(probes("++--"), 0, 1400), 1400 - 1100);
});

Deno.test("parseProbes reads the prober's JSON lines", () => {
  const text =
    '{"t":1,"ms":2,"ok":true,"version":"0.2.0"}\n{"t":3,"ms":1,"ok":false,"version":null}\n';
  assert.deepEqual(parseProbes(text).map((p) => p.ok), [true, false]);
});
