/** The guard's decision, pure: which actions refuse, known drift, overrides, failing closed. */
import assert from "node:assert/strict";
import type { Change } from "../../lib/disko/changes.ts";
import { changeKey, decideGuard, OVERRIDE_ENV } from "../../lib/disko/guard.ts";
import { EXIT } from "../../lib/core/exit_codes.ts";

const destructive: Change = {
  class: "destructive",
  path: "disk.sda.content.partitions.nix.label",
  change: 'partlabel "a" → "b"',
  why: "renamed",
};
const notApplied: Change = {
  ...destructive,
  class: "not-applied",
  path: "x.size",
  change: "1 → 2",
};
const safe: Change = { ...destructive, class: "safe", path: "x.mountOptions", change: "a → b" };
const none = new Set<string>();

Deno.test("guard: only safe changes pass; not-applied exits 9, destructive 10, for switch, boot, test and unknown actions", () => {
  assert.equal(
    decideGuard({ action: "switch", changes: [safe], known: none, override: null }).verdict,
    "pass",
  );
  for (const action of ["switch", "boot", "test", "something-new"]) {
    const na = decideGuard({ action, changes: [safe, notApplied], known: none, override: null });
    assert.deepEqual([na.verdict, na.exit], ["refuse", EXIT.NOT_APPLIED], action);
    const d = decideGuard({
      action,
      changes: [notApplied, destructive],
      known: none,
      override: null,
    });
    assert.deepEqual([d.verdict, d.exit, d.blocking.length], ["refuse", EXIT.DESTRUCTIVE, 2]);
  }
});

Deno.test("guard: dry-activate and check only report", () => {
  for (const action of ["dry-activate", "check"]) {
    const d = decideGuard({ action, changes: [destructive], known: none, override: null });
    assert.deepEqual([d.verdict, d.exit], ["report", EXIT.OK]);
  }
});

Deno.test("guard: a change the current system already has is known, not blocking", () => {
  const known = new Set([changeKey(destructive)]);
  const d = decideGuard({ action: "switch", changes: [destructive], known, override: null });
  assert.deepEqual([d.verdict, d.blocking, d.known], ["pass", [], [destructive]]);
  const other = decideGuard({
    action: "switch",
    changes: [destructive, notApplied],
    known,
    override: null,
  });
  assert.deepEqual([other.verdict, other.exit], ["refuse", EXIT.NOT_APPLIED]);
});

Deno.test("guard: an override passes; a file override is used up, the variable is not; no check fails closed", () => {
  const file = { source: "/run/grapheon/disko-override", reason: null };
  const f = decideGuard({ action: "switch", changes: [destructive], known: none, override: file });
  assert.deepEqual([f.verdict, f.exit, f.consumeOverride], ["override", EXIT.OK, true]);
  const env = { source: OVERRIDE_ENV, reason: null };
  const e = decideGuard({ action: "switch", changes: [destructive], known: none, override: env });
  assert.equal(e.consumeOverride, false);
  const unread = decideGuard({
    action: "switch",
    changes: null,
    error: "lsblk failed",
    known: none,
    override: null,
  });
  assert.deepEqual([unread.verdict, unread.exit], ["refuse", EXIT.FAILURE]);
  const unreadReport = decideGuard({ action: "check", changes: null, known: none, override: null });
  assert.equal(unreadReport.verdict, "report");
  // An override is not used up by a switch that needed none.
  const fine = decideGuard({ action: "switch", changes: [safe], known: none, override: file });
  assert.deepEqual([fine.verdict, fine.consumeOverride], ["pass", false]);
});
