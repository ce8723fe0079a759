import assert from "node:assert/strict";
import { runCli } from "../util/cli.ts";
import { TOOL_VERSION } from "../../lib/core/version.ts";

Deno.test("--help lists commands and exit codes", async () => {
  const r = await runCli(["--help"]);
  assert.equal(r.code, 0);
  for (const word of ["health", "config", "Exit codes:", "70  internal error"]) {
    assert.ok(r.stdout.includes(word), `help mentions ${word}`);
  }
});

Deno.test("each command has its own --help", async () => {
  const r = await runCli(["health", "--help"]);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /Usage: grapheon-tool health/);
});

Deno.test("--version prints the tool version, which matches deno.json", async () => {
  const r = await runCli(["--version"]);
  assert.equal(r.code, 0);
  assert.equal(r.stdout.trim(), `grapheon-tool ${TOOL_VERSION}`);
  const denoJson = JSON.parse(await Deno.readTextFile(new URL("../../deno.json", import.meta.url)));
  assert.equal(denoJson.version, TOOL_VERSION);
});

Deno.test("unknown command or option: one line, usage hint, exit 2", async () => {
  for (const args of [["frobnicate"], ["health", "--frob"], ["--frob"], []]) {
    const r = await runCli(args);
    assert.equal(r.code, 2, `exit 2 for ${args.join(" ")}`);
    const lines = r.stderr.trim().split("\n");
    assert.equal(lines.length, 2, `error + hint for ${args.join(" ")}: ${r.stderr}`);
    assert.match(lines[1], /grapheon-tool --help/);
  }
});

Deno.test("logs carry syslog priority prefixes when stderr is not a terminal", async () => {
  const r = await runCli(["frobnicate"]);
  assert.match(r.stderr, /^<3>unknown command "frobnicate"/);
});
