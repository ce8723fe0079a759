/** History formatting (pure): who, from → to, newest first, JSON form. */
import assert from "node:assert/strict";
import type { HistoryEntry } from "../../lib/job/history.ts";
import { historyJson, historyLines, pairText, who } from "../../lib/status/history_view.ts";

const r = (v: string | null, c: string) => ({ version: v, imageId: v ? c.repeat(64) : null });
const entry = (over: Partial<HistoryEntry>): HistoryEntry => ({
  id: "j1",
  kind: "upgrade",
  trigger: "request",
  from: { backend: r("0.2.0", "a"), frontend: r("0.2.0", "b") },
  to: { backend: r("0.3.0", "c"), frontend: r("0.3.1", "d") },
  result: "completed",
  message: "Upgraded.",
  startedAt: "2026-03-14T02:00:00.123Z",
  finishedAt: "2026-03-14T02:01:05.000Z",
  durationMs: 65_000,
  backup: null,
  ...over,
});

Deno.test("who and pairs in words", () => {
  assert.equal(who("request"), "app request");
  assert.equal(who("operator"), "operator");
  assert.equal(who("recovery"), "recovery");
  assert.equal(pairText(entry({}).from), "0.2.0");
  assert.equal(pairText(entry({}).to), "backend 0.3.0 / frontend 0.3.1");
  assert.equal(
    pairText({ backend: r(null, "a"), frontend: r(null, "b") }),
    "backend ? / frontend ?",
  );
  assert.equal(
    pairText({ backend: r("0.1.0", "a"), frontend: { version: null, imageId: "b".repeat(64) } }),
    "backend 0.1.0 / frontend image bbbbbbbbbbbb",
  );
});

Deno.test("lines: newest first, aligned columns, messages indented", () => {
  const lines = historyLines([
    entry({}),
    entry({ id: "j2", kind: "rollback", trigger: "operator", durationMs: 4200, message: "Back." }),
  ]);
  assert.match(lines[0], /^STARTED\s+KIND\s+FROM → TO\s+RESULT\s+TOOK\s+WHO$/);
  assert.match(lines[1], /^2026-03-14T02:00:00Z\s+rollback\s+.*completed\s+4\.2s\s+operator$/);
  assert.equal(lines[2], "    Back.");
  assert.match(
    lines[3],
    /upgrade\s+0\.2\.0 → backend 0\.3\.0 \/ frontend 0\.3\.1\s+completed\s+1m05s\s+app request/,
  );
  assert.equal(lines[1].indexOf("completed"), lines[3].indexOf("completed"), "aligned");
  assert.deepEqual(historyLines([]), ["no upgrades or rollbacks recorded yet"]);
});

Deno.test("JSON form: snake_case with exact image IDs", () => {
  const j = historyJson(entry({}));
  assert.equal(j.who, "app request");
  assert.deepEqual(j.to, {
    backend: { version: "0.3.0", image_id: "c".repeat(64) },
    frontend: { version: "0.3.1", image_id: "d".repeat(64) },
  });
  assert.equal(j.duration_ms, 65_000);
});
