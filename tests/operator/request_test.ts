/**
 * `grapheon-tool request` writes the request exactly as the app does: the
 * upgrade runner reads it and upgrades; bad versions and a planted symlink are
 * refused without touching anything.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { parseRequest } from "../../lib/job/request_file.ts";
import { operatorHost, parseJson } from "./helpers.ts";
import { requestJsonSchema } from "../../lib/cli/json_outputs.ts";

Deno.test("request: the app's JSON, read by the upgrade runner, which upgrades", async () => {
  await using op = await operatorHost();
  const { h } = op;
  const r = await h.runTool(["request", "0.3.0", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const out = requestJsonSchema.parse(parseJson(r.stdout));
  assert.equal(out.path, join(h.dataDir, "upgrade-requested"));
  assert.equal(out.current_version, "0.2.0", "from the running backend's health");
  assert.equal(out.path_unit, "active");
  const text = await Deno.readTextFile(out.path);
  const body = JSON.parse(text);
  assert.deepEqual(Object.keys(body), [
    "requested_at",
    "current_version",
    "target_version",
    "target_backend_version",
    "target_frontend_version",
  ]);
  assert.match(body.requested_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
  assert.equal(body.target_version, "0.3.0");
  const parsed = parseRequest(text, out.path);
  assert.equal(parsed.backend, "0.3.0");
  assert.equal(parsed.frontend, "0.3.0");
  assert.equal((await Deno.stat(out.path)).mode! & 0o777, 0o644);

  const up = await h.runTool(["upgrade", "--no-canary"]);
  assert.equal(up.code, 0, up.stderr);
  assert.equal(h.runningVersions().backend, "0.3.0");
  const hist = JSON.parse((await h.runTool(["history", "--json"])).stdout);
  assert.equal(hist.entries[0].who, "app request");
});

Deno.test("request: v prefix and a different frontend version", async () => {
  await using op = await operatorHost();
  await op.setPathUnit("inactive");
  const r = await op.h.runTool(["request", "v0.3.0", "--frontend", "0.3.1"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /grapheon-upgrade\.path is inactive/);
  const body = JSON.parse(await Deno.readTextFile(join(op.h.dataDir, "upgrade-requested")));
  assert.equal(body.target_backend_version, "0.3.0");
  assert.equal(body.target_frontend_version, "0.3.1");
});

Deno.test("request: bad or missing versions and a planted symlink change nothing", async () => {
  await using op = await operatorHost();
  const { h } = op;
  const path = join(h.dataDir, "upgrade-requested");
  for (
    const [args, code] of [[["0.3"], 4], [["0.3.0;reboot"], 4], [[], 2], [["0.3.0", "0.3.1"], 2], [[
      "0.3.0",
      "--frontend",
      "x",
    ], 4]] as const
  ) {
    const r = await h.runTool(["request", ...args]);
    assert.equal(r.code, code, `${args.join(" ")}: ${r.stderr}`);
    assert.ok(!(await Deno.lstat(path).catch(() => null)), "nothing written");
  }
  const target = join(h.dir, "precious");
  await Deno.writeTextFile(target, "keep");
  await Deno.symlink(target, path);
  const r = await h.runTool(["request", "0.3.0"]);
  assert.equal(r.code, 4, r.stderr);
  assert.match(r.stderr, /symlink/);
  assert.equal(await Deno.readTextFile(target), "keep");
  assert.ok((await Deno.lstat(path)).isSymlink);
});

Deno.test("request: grapheon-upgrade.path picks it up and the upgrade service runs it", async () => {
  await using op = await operatorHost({ watchPathUnit: true });
  const { h } = op;
  const r = await h.runTool(["request", "0.3.0"]);
  assert.equal(r.code, 0, r.stderr);
  const until = Date.now() + 60_000;
  let status = await h.readStatus();
  while (status?.status !== "completed" && status?.status !== "failed" && Date.now() < until) {
    await new Promise((res) => setTimeout(res, 100));
    status = await h.readStatus().catch(() => null);
  }
  assert.equal(status?.status, "completed", JSON.stringify(status));
  assert.equal(h.runningVersions().backend, "0.3.0");
  assert.ok(h.calls("systemctl", "start", "grapheon-upgrade.service").length >= 1);
  // the runner writes the terminal status first, then archives the request
  const gone = Date.now() + 10_000;
  while (await Deno.lstat(join(h.dataDir, "upgrade-requested")).catch(() => null)) {
    assert.ok(Date.now() < gone, "the request was archived");
    await new Promise((res) => setTimeout(res, 50));
  }
});
