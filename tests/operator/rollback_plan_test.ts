/** The rollback target selection (pure): default previous release, `--to`, interrupted jobs. */
import assert from "node:assert/strict";
import type { AppVersion } from "../../lib/core/app_version.ts";
import type { HistoryEntry } from "../../lib/job/history.ts";
import type { Journal, ReleasePair } from "../../lib/job/journal.ts";
import { namedRelease, previousRelease } from "../../lib/rollback/plan.ts";

// distinct IDs per version: last digit of the version, prefixed to keep backend ≠ frontend
function release(v: string, which: "b" | "f") {
  return {
    version: v,
    imageId: (which === "b" ? "a" : "c") + v.replaceAll(".", "").padStart(63, "0"),
  };
}
function p(b: string, f = b): ReleasePair {
  return { backend: release(b, "b"), frontend: release(f, "f") };
}
let n = 0;
function entry(
  kind: HistoryEntry["kind"],
  from: ReleasePair,
  to: ReleasePair,
  result: HistoryEntry["result"] = "completed",
): HistoryEntry {
  n++;
  return {
    id: `job-${n}`,
    kind,
    trigger: "request",
    from,
    to,
    result,
    message: "",
    startedAt: `2026-01-0${n}T00:00:00Z`,
    finishedAt: `2026-01-0${n}T00:01:00Z`,
    durationMs: 60_000,
    backup: `/state/backups/network-${from.backend.version}-x.db`,
  };
}
const v = (s: string) => s as AppVersion;

Deno.test("previous: the from of the upgrade that installed what runs", () => {
  const history = [
    entry("upgrade", p("0.1.0"), p("0.2.0")),
    entry("upgrade", p("0.2.0"), p("0.3.0")),
  ];
  const t = previousRelease({ history, live: p("0.3.0"), journal: null });
  assert.ok("pair" in t);
  assert.deepEqual(t.pair, p("0.2.0"));
  assert.equal(t.upgradeBackup, "/state/backups/network-0.2.0-x.db");
});

Deno.test("previous: repeated rollbacks walk back the chain, then stop", () => {
  const history = [
    entry("upgrade", p("0.1.0"), p("0.2.0")),
    entry("upgrade", p("0.2.0"), p("0.3.0")),
    entry("rollback", p("0.3.0"), p("0.2.0")),
  ];
  const t = previousRelease({ history, live: p("0.2.0"), journal: null });
  assert.ok("pair" in t);
  assert.deepEqual(t.pair, p("0.1.0"));
  const more = [...history, entry("rollback", p("0.2.0"), p("0.1.0"))];
  const none = previousRelease({ history: more, live: p("0.1.0"), journal: null });
  assert.ok("reason" in none);
  assert.match(none.reason, /nothing to roll back to/);
});

Deno.test("previous: failed and rolled-back upgrades are not targets", () => {
  const history = [
    entry("upgrade", p("0.1.0"), p("0.2.0")),
    entry("upgrade", p("0.2.0"), p("0.3.1"), "rolled-back"),
    entry("upgrade", p("0.2.0"), p("0.3.2"), "failed"),
  ];
  const t = previousRelease({ history, live: p("0.2.0"), journal: null });
  assert.ok("pair" in t);
  assert.deepEqual(t.pair, p("0.1.0"));
});

Deno.test("previous: nothing with an empty history or only the first install", () => {
  const t = previousRelease({ history: [], live: p("0.2.0"), journal: null });
  assert.ok("reason" in t);
  assert.match(t.reason, /no completed upgrade/);
});

Deno.test("previous: what runs is unknown to the history → the newest upgrade's from", () => {
  const history = [entry("upgrade", p("0.1.0"), p("0.2.0"))];
  const t = previousRelease({ history, live: p("0.9.9"), journal: null });
  assert.ok("pair" in t);
  assert.deepEqual(t.pair, p("0.1.0"));
  assert.match(t.source, /newest upgrade/);
});

Deno.test("previous: the frontend is matched by image too (mixed versions)", () => {
  const history = [entry("upgrade", p("0.2.0", "0.2.1"), p("0.3.0", "0.3.2"))];
  const t = previousRelease({ history, live: p("0.3.0", "0.3.2"), journal: null });
  assert.ok("pair" in t);
  assert.deepEqual(t.pair, p("0.2.0", "0.2.1"));
});

function journal(
  kind: Journal["kind"],
  phase: Journal["phase"],
  from: ReleasePair,
  to: ReleasePair,
): Journal {
  return {
    id: "j1",
    kind,
    trigger: "request",
    startedAt: "2026-02-01T00:00:00Z",
    attempts: 1,
    phase,
    from,
    to,
    requestText: null,
    backup: "/state/backups/network-0.2.0-j.db",
    failure: null,
  };
}

Deno.test("previous: an interrupted upgrade past the swap goes back to its from", () => {
  const history = [entry("upgrade", p("0.1.0"), p("0.2.0"))];
  const j = journal("upgrade", "verifying", p("0.2.0"), p("0.3.0"));
  const t = previousRelease({ history, live: p("0.3.0"), journal: j });
  assert.ok("pair" in t);
  assert.deepEqual(t.pair, p("0.2.0"));
  assert.equal(t.upgradeBackup, "/state/backups/network-0.2.0-j.db");
  // before the swap, nothing live changed: the journal is no guide
  const early = journal("upgrade", "pulled", p("0.2.0"), p("0.3.0"));
  const t2 = previousRelease({ history, live: p("0.2.0"), journal: early });
  assert.ok("pair" in t2);
  assert.deepEqual(t2.pair, p("0.1.0"));
});

Deno.test("previous: an interrupted rollback is finished", () => {
  const j = journal("rollback", "swapping", p("0.3.0"), p("0.2.0"));
  const t = previousRelease({ history: [], live: p("0.3.0"), journal: j });
  assert.ok("pair" in t);
  assert.deepEqual(t.pair, p("0.2.0"));
});

Deno.test("--to: newest recorded image IDs, the frontend that ran with that backend", () => {
  const history = [
    entry("upgrade", p("0.1.0", "0.1.3"), p("0.2.0")),
    entry("upgrade", p("0.2.0"), p("0.3.0")),
  ];
  const t = namedRelease({ history, backend: v("0.1.0") });
  assert.deepEqual(t.pair, p("0.1.0", "0.1.3"));
  assert.equal(t.upgradeBackup, "/state/backups/network-0.1.0-x.db");
  const f = namedRelease({ history, backend: v("0.1.0"), frontend: v("0.2.0") });
  assert.deepEqual(f.pair, p("0.1.0", "0.2.0"));
});

Deno.test("--to: a version never recorded has no image ID (its tag is pulled)", () => {
  const t = namedRelease({ history: [], backend: v("0.5.0") });
  assert.deepEqual(t.pair, {
    backend: { version: "0.5.0", imageId: null },
    frontend: { version: "0.5.0", imageId: null },
  });
  assert.match(t.source, /tag v0\.5\.0/);
});
