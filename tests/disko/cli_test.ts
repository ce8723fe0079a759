/** The `disko` command end to end (the real entry point as a child process): output, --json and exit codes. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runCli } from "../util/cli.ts";
import { FIXTURES } from "./fixtures.ts";

const f = (name: string) => join(FIXTURES, name);
const live = (name: string) => join(FIXTURES, "live", name);

async function withTemp(name: string, text: string, fn: (path: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "disko-cli-" });
  try {
    await Deno.writeTextFile(join(dir, name), text);
    await fn(join(dir, name));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("cli: check of a valid layout exits 0 with warnings shown; --json carries the findings", async () => {
  const human = await runCli(["disko", "check", f("vps_tmpfs_root.json")]);
  assert.equal(human.code, 0, human.stderr);
  assert.match(human.stdout, /0 errors, 1 warning, 1 info/);
  assert.match(human.stdout, /device-kernel-name {2}disk\.sda\.device/);
  const json = await runCli(["disko", "check", f("vps_tmpfs_root.json"), "--json"]);
  const doc = JSON.parse(json.stdout);
  assert.equal(doc.ok, true);
  assert.deepEqual(doc.findings.map((x: { rule: string }) => x.rule), [
    "device-kernel-name",
    "needed-for-boot",
  ]);
});

Deno.test("cli: check with errors exits 1; --disk-size feeds the fit rule", async () => {
  const r = await runCli([
    "disko",
    "check",
    f("vps_tmpfs_root.json"),
    "--disk-size",
    "sda=64G",
    "--json",
  ]);
  assert.equal(r.code, 1);
  const doc = JSON.parse(r.stdout);
  assert.equal(doc.ok, false);
  assert.equal(doc.findings[0].rule, "size-exceeds-disk");
  assert.equal(
    (await runCli(["disko", "check", f("vps_tmpfs_root.json"), "--disk-size", "64G"])).code,
    1,
  );
  assert.equal(
    (await runCli(["disko", "check", f("vps_tmpfs_root.json"), "--disk-size", "200G"])).code,
    0,
  );
});

Deno.test("cli: check --lsblk-json/--findmnt-json compares with a recorded machine", async () => {
  const ok = await runCli([
    "disko",
    "check",
    f("vps_tmpfs_root.json"),
    "--lsblk-json",
    live("vps_lsblk.json"),
    "--findmnt-json",
    live("vps_findmnt.json"),
  ]);
  assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  const drifted = await runCli([
    "disko",
    "check",
    f("vps_tmpfs_root.json"),
    "--json",
    "--lsblk-json",
    live("vps_drifted_lsblk.json"),
    "--findmnt-json",
    live("vps_drifted_findmnt.json"),
  ]);
  assert.equal(drifted.code, 1);
  const rules = JSON.parse(drifted.stdout).findings.map((x: { rule: string }) => x.rule);
  assert.ok(rules.includes("live-partition-type") && rules.includes("live-size"), rules.join());
});

Deno.test("cli: diff exits 0 / 9 / 10 by the worst change", async () => {
  await withTemp("nix-bigger.json", "", async (path) => {
    const same = await runCli([
      "disko",
      "diff",
      f("vps_tmpfs_root.json"),
      f("vps_tmpfs_root.json"),
    ]);
    assert.equal(same.code, 0);
    assert.match(same.stdout, /no changes/);
    const j = JSON.parse(await Deno.readTextFile(f("vps_tmpfs_root.json")));
    j.disk.sda.content.partitions.nix.size = "100G";
    await Deno.writeTextFile(path, JSON.stringify(j));
    const notApplied = await runCli(["disko", "diff", f("vps_tmpfs_root.json"), path, "--json"]);
    assert.equal(notApplied.code, 9);
    assert.equal(JSON.parse(notApplied.stdout).worst, "not-applied");
    j.disk.sda.name = "main";
    await Deno.writeTextFile(path, JSON.stringify(j));
    const destructive = await runCli(["disko", "diff", f("vps_tmpfs_root.json"), path]);
    assert.equal(destructive.code, 10);
    assert.match(destructive.stdout, /worst: destructive/);
  });
});

Deno.test("cli: diff --lsblk-json uses the recorded machine as OLD", async () => {
  const r = await runCli([
    "disko",
    "diff",
    "--lsblk-json",
    live("vps_renamed_lsblk.json"),
    f("vps_tmpfs_root.json"),
    "--json",
  ]);
  assert.equal(r.code, 10);
  assert.equal(JSON.parse(r.stdout).changes.length, 3);
});

Deno.test("cli: an invalid layout exits 4 naming the file and field; bad usage exits 2", async () => {
  await withTemp(
    "bad.json",
    '{"disk":{"main":{"device":"/dev/sda","content":{"type":"gpt","partitions":{"ESP":{"size":512}}}}}}',
    async (path) => {
      const r = await runCli(["disko", "check", path]);
      assert.equal(r.code, 4);
      assert.match(r.stderr, /bad\.json: field disk\.main\.content\.partitions\.ESP\.size/);
    },
  );
  await withTemp("not.json", "{", async (path) => {
    const r = await runCli(["disko", "check", path]);
    assert.equal(r.code, 4);
    assert.match(r.stderr, /not\.json: not valid JSON/);
  });
  assert.equal((await runCli(["disko", "check", f("missing.json")])).code, 4);
  assert.equal((await runCli(["disko", "check"])).code, 2);
  assert.equal((await runCli(["disko", "diff", f("simple_efi.json")])).code, 2);
  assert.equal(
    (await runCli(["disko", "check", f("simple_efi.json"), "--disk-size", "huge"])).code,
    2,
  );
  assert.equal((await runCli(["disko", "frobnicate"])).code, 2);
  assert.equal((await runCli(["disko", "check", f("simple_efi.json"), "--bogus"])).code, 2);
});

Deno.test("cli: rules lists every rule; --help documents the exit codes", async () => {
  const rules = await runCli(["disko", "rules", "--json"]);
  assert.equal(rules.code, 0);
  const list = JSON.parse(rules.stdout);
  assert.ok(list.some((r: { id: string }) => r.id === "size-rest-not-last"));
  const help = await runCli(["disko", "--help"]);
  assert.match(help.stdout, /10 worst change is destructive/);
});

const HAVE_NIX = await new Deno.Command("nix-instantiate", {
  args: ["--version"],
  stdout: "null",
  stderr: "null",
})
  .output().then((o) => o.success, () => false);

Deno.test({
  name: "cli: a .nix layout is evaluated with the programs from config.commands",
  ignore: !HAVE_NIX && Deno.env.get("CI") !== "true",
  fn: async () => {
    const direct = await runCli(["disko", "check", f("vps_tmpfs_root.nix"), "--json"]);
    assert.equal(direct.code, 0, direct.stderr);
    assert.equal(JSON.parse(direct.stdout).counts.warning, 1);
    const config = JSON.stringify({
      commands: { nixInstantiate: "grapheon-test-no-such-nix-instantiate" },
    });
    await withTemp("config.json", config, async (path) => {
      const viaNix = await runCli(["--config", path, "disko", "check", f("vps_tmpfs_root.nix")]);
      assert.equal(viaNix.code, 0, viaNix.stderr);
      const neither = JSON.stringify({
        commands: { nixInstantiate: "grapheon-test-none", nix: "grapheon-test-none" },
      });
      await Deno.writeTextFile(path, neither);
      const none = await runCli(["--config", path, "disko", "check", f("vps_tmpfs_root.nix")]);
      assert.equal(none.code, 4);
      assert.match(
        none.stderr,
        /vps_tmpfs_root\.nix: needs Nix, but neither grapheon-test-none nor grapheon-test-none/,
      );
    });
  },
});
