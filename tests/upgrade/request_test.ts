import assert from "node:assert/strict";
import { join } from "node:path";
import { Harness } from "../harness/harness.ts";
import { parseRequest } from "../../lib/job/request_file.ts";
import { InputError } from "../../lib/core/errors.ts";

Deno.test("request parsing: app JSON, fallback, bare versions (pure)", () => {
  const app = parseRequest(JSON.stringify(Harness.request("0.10.4", "0.10.5")), "f");
  assert.deepEqual([app.backend, app.frontend], ["0.10.4", "0.10.5"]);
  const fallback = parseRequest('{"target_version":"v1.2.3"}', "f");
  assert.deepEqual([fallback.backend, fallback.frontend], ["1.2.3", "1.2.3"]);
  assert.equal(parseRequest("0.10.4\n", "f").backend, "0.10.4");
  assert.equal(parseRequest("v0.10.4", "f").frontend, "0.10.4");
  assert.equal(parseRequest("1.0.0-rc.1", "f").backend, "1.0.0-rc.1");
  for (
    const [text, re] of [
      ["", /empty request: no target version/],
      ["   \n", /empty request/],
      ["{", /not valid JSON/],
      ["garbage here", /field version: expected a version/],
      ['{"target_version":"0.10"}', /field target_version: expected a version/],
      ['{"target_backend_version":"1.2.3;rm -rf /"}', /field target_backend_version/],
      ['{"target_version":"$(reboot)"}', /field target_version/],
      ['{"target_version":5}', /field target_version/],
      ['{"requested_at":"x"}', /field target_backend_version: missing/],
    ] as const
  ) {
    assert.throws(() => parseRequest(text, "/data/upgrade-requested"), (e: unknown) => {
      assert.ok(e instanceof InputError);
      assert.match(e.message, /^\/data\/upgrade-requested: /);
      assert.match(e.message, re);
      return true;
    });
  }
});

Deno.test("request: a bare version file upgrades", async () => {
  await using h = await Harness.create();
  await h.writeRequest("v0.3.0\n");
  const r = await h.runTool(["upgrade"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(h.runningVersions().backend, "0.3.0");
});

const BAD: [string, (h: Harness) => Promise<void>, RegExp][] = [
  ["empty", (h) => h.writeRequest(""), /empty request: no target version/],
  ["garbage", (h) => h.writeRequest("please upgrade"), /expected a version/],
  [
    "shell characters",
    (h) => h.writeRequest({ target_version: "0.3.0; touch pwned" }),
    /field target_version: expected a version/,
  ],
  ["huge", (h) => h.writeRequest("0".repeat(70 * 1024)), /more than the 65536 allowed/],
  [
    "symlink",
    async (h) => {
      await Deno.writeTextFile(join(h.dir, "elsewhere"), "0.3.0");
      await Deno.symlink(join(h.dir, "elsewhere"), join(h.dataDir, "upgrade-requested"));
    },
    /is a symlink; refusing to follow it/,
  ],
  [
    "directory",
    async (h) => {
      await Deno.mkdir(join(h.dataDir, "upgrade-requested", "inner"), { recursive: true });
      await Deno.writeTextFile(join(h.dataDir, "upgrade-requested", "inner", "f"), "x");
    },
    /is not a regular file/,
  ],
  [
    "FIFO",
    async (h) => {
      const mk = await new Deno.Command("mkfifo", { args: [join(h.dataDir, "upgrade-requested")] })
        .output();
      assert.equal(mk.code, 0);
    },
    /is not a regular file/,
  ],
];

for (const [name, write, why] of BAD) {
  Deno.test(`request: ${name} → refused (exit 4), status failed, request moved aside, nothing pulled`, async () => {
    await using h = await Harness.create();
    await write(h);
    const r = await h.runTool(["upgrade"]);
    assert.equal(r.code, 4, r.stderr);
    assert.equal(r.stderr.trim().split("\n").filter((l) => l.startsWith("<3>")).length, 1);
    const s = (await h.readStatus())!;
    assert.equal(s.status, "failed");
    assert.match(String(s.message), why);
    assert.equal(h.calls("podman", "pull").length, 0);
    assert.equal(h.calls("systemctl", "restart").length, 0);
    const gone = await Deno.lstat(join(h.dataDir, "upgrade-requested")).then(
      () => false,
      () => true,
    );
    assert.ok(gone, "the request cannot re-trigger the .path unit");
    const odd = ["symlink", "directory", "FIFO"].includes(name);
    if (odd) {
      const aside = [...Deno.readDirSync(h.dataDir)].filter((e) =>
        e.name.startsWith(".upgrade-requested.")
      );
      assert.equal(aside.length, 1, "moved aside in the data dir, unread");
    } else {
      assert.equal(
        [...Deno.readDirSync(join(h.config.stateDir, "requests"))].length,
        1,
        "archived",
      );
    }
    if (name === "symlink") {
      assert.equal(await Deno.readTextFile(join(h.dir, "elsewhere")), "0.3.0");
    }
  });
}

Deno.test("upgrade: bad version flags are usage errors (exit 2), nothing touched", async () => {
  await using h = await Harness.create();
  for (
    const args of [["--version", "1.2"], ["--backend-version", "0.3.0"], ["--version", "0.3.0`id`"]]
  ) {
    const r = await h.runTool(["upgrade", ...args]);
    assert.equal(r.code, 2, args.join(" "));
  }
  assert.equal(await h.readStatus(), null);
});
