/**
 * `grapheon-tool rollback` refusals and failures end to end on the hermetic
 * harness: nothing to roll back to, the lock held, bad input, a pending
 * request and --clear, a failed switch, a failed pull, the terminal prompt.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { acquireLock } from "../../lib/job/lock.ts";
import { REPO_ROOT } from "../harness/harness.ts";
import { operatorHost, parseJson, upgradeTo } from "./helpers.ts";
import {
  historyJsonSchema,
  rollbackOutcomeJsonSchema,
  statusJsonSchema,
} from "../../lib/cli/json_outputs.ts";

Deno.test("rollback: refused when there is nothing to roll back to (exit 1, nothing touched)", async () => {
  await using op = await operatorHost();
  const { h } = op;
  const r = await h.runTool(["rollback", "--yes"]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /nothing to roll back to/);
  assert.equal(await h.readStatus(), null, "no status written");
  assert.equal(h.calls("systemctl", "restart").length, 0);
  assert.equal(h.calls("podman", "tag").length, 0);
});

Deno.test("rollback: refused while an upgrade holds the lock (exit 5, nothing touched)", async () => {
  await using op = await operatorHost();
  const { h } = op;
  await upgradeTo(h, "0.3.0");
  const statusBefore = await Deno.readTextFile(join(h.dataDir, "upgrade-status.json"));
  const tagsBefore = h.calls("podman", "tag").length;
  {
    using _lock = await acquireLock(h.config.stateDir, "test");
    const r = await h.runTool(["rollback", "--yes"]);
    assert.equal(r.code, 5, r.stderr);
    assert.match(r.stderr, /another upgrade or rollback is running/);
    const clear = await h.runTool(["rollback", "--clear"]);
    assert.equal(clear.code, 5, clear.stderr);
  }
  assert.equal(await Deno.readTextFile(join(h.dataDir, "upgrade-status.json")), statusBefore);
  assert.equal(h.calls("podman", "tag").length, tagsBefore);
  assert.equal(h.runningVersions().backend, "0.3.0");
});

Deno.test("rollback: bad --to and bad snapshot are bad input (exit 4), nothing touched", async () => {
  await using op = await operatorHost();
  const { h } = op;
  await upgradeTo(h, "0.3.0");
  for (
    const args of [
      ["--to", "0.3"],
      ["--to", "0.2.0;rm -rf /"],
      ["--restore-data", "../../etc/passwd"],
      ["--restore-data", "network-0.2.0-nope.db"],
      ["--restore-data", "/etc/passwd"],
    ]
  ) {
    const r = await h.runTool(["rollback", ...args, "--yes"]);
    assert.equal(r.code, 4, `${args.join(" ")}: ${r.stderr}`);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  }
  assert.equal(h.runningVersions().backend, "0.3.0");
  assert.equal((await h.readStatus())!.kind, "upgrade", "status untouched");
});

Deno.test("rollback: a pending request blocks it; --clear archives the request and a stale status", async () => {
  await using op = await operatorHost();
  const { h } = op;
  await upgradeTo(h, "0.3.0");
  await h.writeRequest({ target_version: "0.3.0" });
  const blocked = await h.runTool(["rollback", "--yes"]);
  assert.equal(blocked.code, 1, blocked.stderr);
  assert.match(blocked.stderr, /--clear/);
  assert.equal(h.runningVersions().backend, "0.3.0");

  // a dead upgrade: status stuck at running, request left behind
  await Deno.writeTextFile(
    join(h.dataDir, "upgrade-status.json"),
    JSON.stringify({ status: "running", step: 2, total_steps: 5, progress: 40, message: "x" }),
  );
  const cleared = await h.runTool(["rollback", "--clear", "--json"]);
  assert.equal(cleared.code, 0, cleared.stderr);
  const c = parseJson(cleared.stdout) as { cleared: { request: string; status: boolean } };
  assert.equal(c.cleared.status, true);
  assert.ok(c.cleared.request.startsWith(join(h.config.stateDir, "requests")));
  assert.match(await Deno.readTextFile(c.cleared.request), /0\.3\.0/);
  assert.equal(await h.readStatus(), null);
  assert.ok(!(await Deno.lstat(join(h.dataDir, "upgrade-requested")).catch(() => null)));
  assert.equal(h.runningVersions().backend, "0.3.0", "--clear alone rolls nothing back");

  const r = await h.runTool(["rollback", "--yes"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(h.runningVersions().backend, "0.2.0");
});

Deno.test("rollback: a failed rollback exits 7 and the status says failed", async () => {
  await using op = await operatorHost();
  const { h } = op;
  await upgradeTo(h, "0.3.0");
  await h.failRestart(h.config.backend.service);
  const r = await h.runTool(["rollback", "--yes", "--json"]);
  assert.equal(r.code, 7, r.stderr);
  const out = rollbackOutcomeJsonSchema.parse(parseJson(r.stdout));
  assert.equal(out.result, "failed");
  assert.equal(out.live_touched, true);
  const status = (await h.readStatus())!;
  assert.equal(status.status, "failed");
  assert.match(String(status.message), /Rollback to 0\.2\.0 failed/);
  const hist = historyJsonSchema.parse(parseJson((await h.runTool(["history", "--json"])).stdout));
  assert.equal(hist.entries[0].kind, "rollback");
  assert.equal(hist.entries[0].result, "failed");
});

Deno.test("rollback: a pull that fails changes nothing live (exit 7, status failed)", async () => {
  await using op = await operatorHost();
  const { h } = op;
  await upgradeTo(h, "0.3.0");
  const rm = await h.double("podman", ["rmi", "--force", h.releaseId("backend", "0.2.0")]);
  assert.equal(rm.code, 0, rm.stderr);
  await h.failPull(h.ref("backend", "0.2.0"));
  const restarts = h.calls("systemctl", "restart").length;
  const r = await h.runTool(["rollback", "--yes", "--json"]);
  assert.equal(r.code, 7, r.stderr);
  const out = rollbackOutcomeJsonSchema.parse(parseJson(r.stdout));
  assert.equal(out.live_touched, false);
  assert.match(out.message, /before anything live changed.*Still running 0\.3\.0/);
  assert.equal(h.calls("systemctl", "restart").length, restarts);
  assert.equal(h.runningVersions().backend, "0.3.0");
  assert.equal((await h.readStatus())!.status, "failed");
});

Deno.test("rollback: on a terminal it asks; 'n' changes nothing, 'y' rolls back", async () => {
  await using op = await operatorHost();
  const { h } = op;
  await upgradeTo(h, "0.3.0");
  // script(1) gives the tool a pseudo-terminal as stdin, as over SSH
  const cmd = [Deno.execPath(), "run", "-A", "--quiet", join(REPO_ROOT, "main.ts"), "rollback"]
    .map((a) => `'${a}'`).join(" ");
  const ask = () =>
    new Deno.Command("script", {
      args: ["-qec", cmd, "/dev/null"],
      env: h.env,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  const no = ask();
  const w = no.stdin.getWriter();
  await w.write(new TextEncoder().encode("n\n"));
  await w.close();
  const noOut = await no.output();
  const noText = new TextDecoder().decode(noOut.stdout);
  assert.match(noText, /Roll back now\? \[y\/N\]/);
  assert.match(noText, /not confirmed; nothing was changed/);
  assert.equal(noOut.code, 1);
  assert.equal(h.runningVersions().backend, "0.3.0");
  const yes = ask();
  const w2 = yes.stdin.getWriter();
  await w2.write(new TextEncoder().encode("y\n"));
  await w2.close();
  const yesOut = await yes.output();
  assert.equal(yesOut.code, 0, new TextDecoder().decode(yesOut.stdout));
  assert.equal(h.runningVersions().backend, "0.2.0");
});

Deno.test("rollback killed between the restarts: status says so, the next rollback finishes it", async () => {
  await using op = await operatorHost();
  const { h } = op;
  await upgradeTo(h, "0.3.0");
  await h.killToolOn(["systemctl", "restart", h.config.frontend.service]);
  const killed = await h.runTool(["rollback", "--yes"]);
  assert.equal(killed.code, 137, killed.stderr);
  assert.deepEqual(h.runningVersions(), { backend: "0.2.0", frontend: "0.3.0" });
  assert.equal((await h.readStatus())!.status, "running");
  const st = statusJsonSchema.parse(parseJson((await h.runTool(["status", "--json"])).stdout));
  const p = st.problems.find((x) => x.id === "job-interrupted");
  assert.ok(p);
  assert.match(p.fix, /'grapheon-tool rollback' finishes it \(to 0\.2\.0\)/);

  const r = await h.runTool(["rollback", "--yes", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(h.runningVersions(), { backend: "0.2.0", frontend: "0.2.0" });
  assert.equal((await h.readStatus())!.status, "completed");
  const hist = historyJsonSchema.parse(parseJson((await h.runTool(["history", "--json"])).stdout));
  assert.deepEqual(hist.entries.map((e) => [e.kind, e.result]), [
    ["rollback", "completed"],
    ["rollback", "failed"],
    ["upgrade", "completed"],
  ]);
});
