import assert from "node:assert/strict";
import { join } from "node:path";
import { defaultConfig, parseConfig } from "../../lib/config/config.ts";
import { ConfigError } from "../../lib/core/errors.ts";
import { runCli, tempDir } from "../util/cli.ts";

Deno.test("defaults match the contract", () => {
  const c = defaultConfig();
  assert.equal(c.dataDir, "/var/lib/grapheon/data");
  assert.equal(c.stateDir, "/var/lib/grapheon-tool");
  assert.equal(c.backend.image, "ghcr.io/badgerops/grapheon-backend");
  assert.equal(c.backend.service, "grapheon-backend.service");
  assert.equal(c.backend.port, 8000);
  assert.equal(c.backend.healthUrl, "http://localhost:8000/health");
  assert.equal(c.frontend.service, "grapheon-frontend.service");
  assert.equal(c.frontend.port, 8080);
  assert.deepEqual(c.health.acceptStatus, ["healthy", "degraded"]);
});

Deno.test("config errors name the file and the field", () => {
  const cases: [string, RegExp][] = [
    ['{"backend":{"port":"8000"}}', /^\/etc\/t\.json: field backend\.port: .*expected number/],
    ['{"backend":{"image":7}}', /field backend\.image/],
    ['{"colour":"blue"}', /unknown key colour/],
    ['{"timeouts":{"nope":"1s"}}', /unknown key timeouts\.nope/],
    ['{"timeouts":{"pull":"soon"}}', /field timeouts\.pull: expected a duration/],
    ['{"dataDir":"relative/path"}', /field dataDir: expected an absolute path/],
    ["{not json", /not valid JSON/],
  ];
  for (const [text, re] of cases) {
    assert.throws(() => parseConfig(text, "/etc/t.json"), (e: unknown) => {
      assert.ok(e instanceof ConfigError, `ConfigError for ${text}`);
      assert.match(e.message, re);
      return true;
    });
  }
});

Deno.test("a missing required field of the right shape falls back to its default, a null does not", () => {
  assert.equal(parseConfig('{"backend":{}}', "f").backend.port, 8000);
  assert.throws(() => parseConfig('{"backend":{"port":null}}', "f"), /field backend\.port/);
});

Deno.test("config command: --check reports file and field, exits 3; valid exits 0", async () => {
  await using dir = await tempDir();
  const bad = join(dir.path, "bad.json");
  await Deno.writeTextFile(bad, '{"frontend":{"port":70000}}');
  const r = await runCli(["config", "--check", bad]);
  assert.equal(r.code, 3);
  assert.match(r.stderr, /bad\.json: field frontend\.port/);
  assert.equal(r.stderr.trim().split("\n").length, 1, "one line");
  const good = join(dir.path, "good.json");
  await Deno.writeTextFile(good, '{"runTag":"pinned"}');
  const ok = await runCli(["config", "--check", good, "--json"]);
  assert.equal(ok.code, 0);
  assert.deepEqual(JSON.parse(ok.stdout), { file: good, valid: true });
});

Deno.test("config command prints the effective config from GRAPHEON_TOOL_CONFIG", async () => {
  await using dir = await tempDir();
  const file = join(dir.path, "c.json");
  await Deno.writeTextFile(file, '{"backend":{"port":9000}}');
  const r = await runCli(["--json", "config"], { env: { GRAPHEON_TOOL_CONFIG: file } });
  assert.equal(r.code, 0);
  const printed = JSON.parse(r.stdout);
  assert.equal(printed.backend.port, 9000);
  assert.equal(printed.frontend.port, 8080);
  const missing = await runCli(["config", "--config", join(dir.path, "absent.json")]);
  assert.equal(missing.code, 3);
  assert.match(missing.stderr, /absent\.json: cannot read config/);
});
