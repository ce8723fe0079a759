/** `grapheon-tool history` end to end: newest first, --limit, who, an unreadable file. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { operatorHost, parseJson } from "./helpers.ts";
import { historyJsonSchema, statusJsonSchema } from "../../lib/cli/json_outputs.ts";

Deno.test("history: upgrades and rollbacks, newest first, with who and --limit", async () => {
  await using op = await operatorHost();
  const { h } = op;
  const empty = await h.runTool(["history"]);
  assert.equal(empty.code, 0, empty.stderr);
  assert.match(empty.stdout, /no upgrades or rollbacks recorded yet/);
  await h.writeRequest("0.3.0"); // as the app would, then the runner
  assert.equal((await h.runTool(["upgrade", "--no-canary"])).code, 0);
  assert.equal((await h.runTool(["rollback", "--yes"])).code, 0);

  const all = historyJsonSchema.parse(parseJson((await h.runTool(["history", "--json"])).stdout));
  assert.equal(all.total, 2);
  assert.deepEqual(all.entries.map((e) => [e.kind, e.who, e.result]), [
    ["rollback", "operator", "completed"],
    ["upgrade", "app request", "completed"],
  ]);
  assert.ok(Date.parse(all.entries[0].started_at) >= Date.parse(all.entries[1].finished_at));
  assert.equal(all.entries[1].backup?.endsWith(".db"), true, "the upgrade's snapshot");
  const one = historyJsonSchema.parse(
    parseJson((await h.runTool(["history", "--limit", "1", "--json"])).stdout),
  );
  assert.equal(one.entries.length, 1);
  assert.equal(one.entries[0].kind, "rollback");
  assert.equal(one.total, 2);

  const human = (await h.runTool(["history"])).stdout.split("\n");
  assert.match(human[0], /^STARTED\s+KIND\s+FROM → TO\s+RESULT\s+TOOK\s+WHO$/);
  assert.match(human[1], /rollback\s+0\.3\.0 → 0\.2\.0\s+completed\s+\S+\s+operator$/);
  assert.match(human[3], /upgrade\s+0\.2\.0 → 0\.3\.0\s+completed\s+\S+\s+app request$/);
  assert.equal((await h.runTool(["history", "--limit", "x"])).code, 2);
});

Deno.test("history: an unreadable file is a warning, and a status problem", async () => {
  await using op = await operatorHost();
  const { h } = op;
  await Deno.mkdir(h.config.stateDir, { recursive: true });
  await Deno.writeTextFile(join(h.config.stateDir, "history.json"), "{not json");
  const r = await h.runTool(["history", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const doc = historyJsonSchema.parse(parseJson(r.stdout));
  assert.match(doc.warning ?? "", /not valid JSON/);
  const st = statusJsonSchema.parse(parseJson((await h.runTool(["status", "--json"])).stdout));
  assert.deepEqual(st.problems.map((p) => p.id), ["history-unreadable"]);
});
