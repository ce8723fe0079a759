import assert from "node:assert/strict";
import { judgeResponse } from "../../lib/health/poll.ts";
import { runCli } from "../util/cli.ts";
import { closedPort, healthBody, startHealthServer } from "../util/health_server.ts";

const json = (r: { stdout: string }) => JSON.parse(r.stdout);

Deno.test("judge: contract statuses, versions, non-JSON bodies", () => {
  const expect = { httpStatuses: [200], json: { status: ["healthy", "degraded"] } };
  const body = (status: "healthy" | "degraded" | "unhealthy", version = "0.10.4") =>
    healthBody({ status, version });
  assert.equal(judgeResponse({ status: 200, body: body("healthy") }, expect).ok, true);
  assert.equal(judgeResponse({ status: 200, body: body("degraded") }, expect).ok, true);
  assert.equal(
    judgeResponse({ status: 503, body: body("unhealthy") }, expect).reason,
    "status 503 (body status=unhealthy)",
  );
  assert.equal(
    judgeResponse({ status: 200, body: body("healthy", "0.10.3") }, {
      ...expect,
      version: "0.10.4",
    }).reason,
    "version 0.10.3 ≠ 0.10.4",
  );
  assert.equal(judgeResponse({ status: 200, body: "<html>" }, expect).ok, true, "frontend page");
  assert.equal(
    judgeResponse({ status: 200, body: '{"status":"starting"}' }, expect).reason,
    "body status=starting",
  );
});

Deno.test("health: healthy and degraded pass, with version check", async () => {
  await using s = startHealthServer({ status: "healthy", version: "0.10.4" });
  const ok = await runCli(["health", s.url, "--expect-version", "0.10.4", "--json"]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(json(ok).healthy, true);
  s.set({ status: "degraded" });
  const deg = await runCli(["health", s.url, "--once"]);
  assert.equal(deg.code, 0);
  assert.match(deg.stdout, /^healthy after/);
});

Deno.test("health: 503 unhealthy fails at the deadline and says why", async () => {
  await using s = startHealthServer({ status: "unhealthy", version: "0.10.4" });
  const r = await runCli(["health", s.url, "--timeout", "600ms", "--json"]);
  assert.equal(r.code, 1);
  const out = json(r);
  assert.equal(out.healthy, false);
  assert.equal(out.last_reason, "status 503 (body status=unhealthy)");
  assert.ok(out.attempts.length >= 3, "kept polling until the deadline");
  assert.ok(out.elapsed_ms >= 600);
});

Deno.test("health: wrong version fails with both versions named", async () => {
  await using s = startHealthServer({ status: "healthy", version: "0.10.3" });
  const r = await runCli(["health", s.url, "--expect-version", "v0.10.4", "--timeout", "300ms"]);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /version 0\.10\.3 ≠ 0\.10\.4/);
});

Deno.test("health: connection refused is named", async () => {
  const url = `http://127.0.0.1:${closedPort()}/health`;
  const r = await runCli(["health", url, "--timeout", "300ms", "--json"]);
  assert.equal(r.code, 1);
  assert.equal(json(r).last_reason, "connection refused");
});

Deno.test("health: a slow answer past --request-timeout is a timeout", async () => {
  await using s = startHealthServer({ status: "healthy", version: "1.0.0", delayMs: 1500 });
  const r = await runCli([
    "health",
    s.url,
    "--request-timeout",
    "200ms",
    "--timeout",
    "500ms",
    "--json",
  ]);
  assert.equal(r.code, 1);
  assert.equal(json(r).last_reason, "timeout after 200 ms");
  s.set({ delayMs: 50 });
  const ok = await runCli(["health", s.url, "--request-timeout", "2s", "--once"]);
  assert.equal(ok.code, 0, "a slow answer within the request timeout passes");
});

Deno.test("health: a server that turns healthy after a delay passes, and the time is reported", async () => {
  await using s = startHealthServer({ status: "unhealthy", version: "0.3.0" });
  // Turns healthy once the tool has seen it unhealthy (however long its start-up took).
  const timer = setInterval(() => {
    if (s.hits() >= 1) s.set({ status: "healthy" });
  }, 50);
  try {
    const r = await runCli(["health", s.url, "--timeout", "20s", "--interval", "200ms", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const out = json(r);
    assert.equal(out.healthy, true);
    assert.ok(out.attempts.some((a: { ok: boolean }) => !a.ok), "saw it unhealthy first");
    assert.ok(typeof out.elapsed_ms === "number" && out.elapsed_ms > 0, "reports the time it took");
    assert.ok(out.attempts.at(-1).ok);
  } finally {
    clearInterval(timer);
  }
});

Deno.test("health: --consecutive needs N passing rounds in a row", async () => {
  await using s = startHealthServer({ status: "healthy", version: "1.0.0" });
  const r = await runCli(["health", s.url, "--consecutive", "3", "--json"]);
  assert.equal(r.code, 0);
  assert.equal(json(r).rounds, 3);
});

Deno.test("health: several URLs must all pass", async () => {
  await using a = startHealthServer({ status: "healthy", version: "1.0.0" });
  await using b = startHealthServer({ status: "unhealthy", version: "1.0.0" });
  const r = await runCli(["health", a.url, b.url, "--timeout", "300ms", "--json"]);
  assert.equal(r.code, 1);
  const failing = json(r).attempts.filter((x: { ok: boolean }) => !x.ok);
  assert.ok(failing.every((x: { url: string }) => x.url === b.url));
  b.set({ status: "healthy" });
  assert.equal((await runCli(["health", a.url, b.url, "--once"])).code, 0);
});

Deno.test("health: --expect-json and --expect-status", async () => {
  await using s = startHealthServer({ status: "degraded", version: "1.0.0" });
  const strict = await runCli(["health", s.url, "--expect-json", "status=healthy", "--once"]);
  assert.equal(strict.code, 1);
  assert.match(strict.stdout, /body status=degraded/);
  const only204 = await runCli(["health", s.url, "--expect-status", "204", "--once"]);
  assert.equal(only204.code, 1);
  assert.match(only204.stdout, /status 200/);
});

Deno.test("health: bad arguments exit 2 with one line", async () => {
  for (
    const args of [
      ["health", "--timeout", "soon"],
      ["health", "--expect-version", "1.2"],
      ["health", "--expect-status", "abc"],
      ["health", "--consecutive", "0"],
      ["health", "ftp://x"],
      ["health", "--expect-version", "1.2.3;rm -rf /"],
    ]
  ) {
    const r = await runCli(args);
    assert.equal(r.code, 2, args.join(" "));
  }
});

Deno.test("health: defaults poll the backend health URL from the config", async () => {
  await using s = startHealthServer({ status: "healthy", version: "0.10.4" });
  const dir = await Deno.makeTempDir();
  try {
    const cfg = `${dir}/c.json`;
    await Deno.writeTextFile(cfg, JSON.stringify({ backend: { healthUrl: s.url } }));
    const r = await runCli(["health", "--once", "--config", cfg]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(s.hits() >= 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
