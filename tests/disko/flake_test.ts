/**
 * `--flake REF#NAME` against a small local flake, offline: a git repository
 * whose inputs are `path:` inputs to ../shared/disko and ../shared/nixpkgs-lib
 * with `flake = false` (../shared/disko/README.md). Its nixosConfigurations are
 * module evaluations with disko's `disko.devices` option (declared as disko's
 * module.nix declares it) instead of full NixOS, which cannot be downloaded
 * here; one declares `fileSystems` with the type nixpkgs gives it
 * (nixos/modules/tasks/filesystems.nix: attrsOf submodule, `fsType` a string
 * defaulting to "auto", `device` null or a string; the checks on non-empty
 * strings are left out). check, eval, diff and diff --live go through the real
 * `nix eval`; the flake's lock file is never written.
 */
import assert from "node:assert/strict";
import { join, resolve } from "node:path";
import { runCli } from "../util/cli.ts";
import { FIXTURES } from "./fixtures.ts";
import { DISKO_DIR, NIXPKGS_LIB, nixTest, SHARED } from "./nix_env.ts";

const FILE = "tests/disko/flake_test.ts";
const opts = { file: FILE, shared: true };
const live = (name: string) => join(FIXTURES, "live", name);

const FLAKE = `{
  inputs.disko = { url = "path:${resolve(SHARED, "disko")}"; flake = false; };
  inputs.nixlib = { url = "path:${resolve(SHARED, "nixpkgs-lib")}"; flake = false; };
  outputs = { self, disko, nixlib }:
    let
      lib = import (nixlib + "/lib");
      diskoLib = import (disko + "/lib") {
        inherit lib; makeTest = null; eval-config = null; qemu-common = null;
      };
      # disko's module.nix: options.disko.devices of type diskoLib.toplevel.
      diskoOption = { options.disko.devices = lib.mkOption { type = diskoLib.toplevel; default = { }; }; };
      # nixpkgs nixos/modules/tasks/filesystems.nix (fsType, device).
      fileSystemsOption = {
        options.fileSystems = lib.mkOption {
          type = lib.types.attrsOf (lib.types.submodule {
            options.fsType = lib.mkOption { type = lib.types.str; default = "auto"; };
            options.device = lib.mkOption { type = lib.types.nullOr lib.types.str; default = null; };
          });
          default = { };
        };
      };
      system = modules: lib.evalModules { modules = [ diskoOption ] ++ modules; };
      nix = lib.mkForce;
    in {
      nixosConfigurations = {
        vps = system [ ./vps.nix ];
        vps-bigger = system [ ./vps.nix { disko.devices.disk.sda.content.partitions.nix.size = nix "100G"; } ];
        vps-renamed = system [ ./vps.nix { disko.devices.disk.sda.content.partitions.nix.name = "store"; } ];
        data = system [ ./data.nix fileSystemsOption { fileSystems."/" = { device = "/dev/vda1"; fsType = "ext4"; }; } ];
        data-noroot = system [ ./data.nix fileSystemsOption ];
        bad = system [ { disko.devices.disk.main = { device = "/dev/sda"; content = { type = "gpt"; partitions.ESP.size = "512MB"; }; }; } ];
        nodisko = lib.evalModules { modules = [ { } ]; };
      };
    };
}
`;

const DATA = `{
  disko.devices.disk.data = {
    device = "/dev/disk/by-id/virtio-data";
    content = { type = "gpt"; partitions.srv = { size = "100%"; content = { type = "filesystem"; format = "xfs"; mountpoint = "/srv"; }; }; };
  };
}
`;

async function git(dir: string, ...args: string[]): Promise<string> {
  const out = await new Deno.Command("git", {
    args: ["-C", dir, "-c", "user.name=test", "-c", "user.email=test@example.invalid", ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(`git ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
  return new TextDecoder().decode(out.stdout).trim();
}

/** The test flake in a fresh git repository, committed; removed after `fn`. */
async function withFlake(fn: (dir: string, rev: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "disko-flake-" });
  try {
    await Deno.writeTextFile(join(dir, "flake.nix"), FLAKE);
    await Deno.copyFile(join(FIXTURES, "vps_tmpfs_root.nix"), join(dir, "vps.nix"));
    await Deno.writeTextFile(join(dir, "data.nix"), DATA);
    await git(dir, "init", "-q");
    await git(dir, "add", "-A");
    await git(dir, "commit", "-q", "-m", "layout");
    await fn(dir, await git(dir, "rev-parse", "HEAD"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

type Doc = { findings: { rule: string; severity: string; path: string }[] };
const rules = (d: Doc) => d.findings.map((f) => `${f.severity} ${f.rule} ${f.path}`);

nixTest(
  "--flake: check, eval, diff and diff --live evaluate nixosConfigurations.NAME with the flake's disko",
  async () => {
    await withFlake(async (dir) => {
      const check = await runCli(["disko", "check", "--flake", `${dir}#vps`, "--json"]);
      assert.equal(check.code, 0, check.stderr);
      const doc = JSON.parse(check.stdout);
      assert.deepEqual(doc.evaluation, { by: "disko", via: "flake", diskoVersion: null });
      const viaFile = await runCli([
        "disko",
        "check",
        join(FIXTURES, "vps_tmpfs_root.nix"),
        "--json",
        "--disko",
        DISKO_DIR,
        "--nixpkgs-lib",
        NIXPKGS_LIB,
      ]);
      assert.deepEqual(rules(doc), rules(JSON.parse(viaFile.stdout)));
      const text = await runCli(["disko", "check", "--flake", `${dir}#vps`]);
      assert.match(text.stdout, /evaluated by disko of the flake's NixOS configuration/);

      const evalFlake = JSON.parse(
        (await runCli(["disko", "eval", "--flake", `${dir}#vps`])).stdout,
      );
      const evalFile = JSON.parse(
        (await runCli([
          "disko",
          "eval",
          join(FIXTURES, "vps_tmpfs_root.nix"),
          "--disko",
          DISKO_DIR,
          "--nixpkgs-lib",
          NIXPKGS_LIB,
        ])).stdout,
      );
      assert.deepEqual(evalFlake.disko.devices, evalFile.disko.devices);

      const bigger = await runCli([
        "disko",
        "diff",
        "--flake",
        `${dir}#vps`,
        "--flake",
        `${dir}#vps-bigger`,
        "--json",
      ]);
      assert.equal(bigger.code, 9, bigger.stderr);
      assert.deepEqual(
        JSON.parse(bigger.stdout).changes.map((
          c: { class: string; path: string },
        ) => [c.class, c.path]),
        [["not-applied", "disk.sda.content.partitions.nix.size"]],
      );
      const renamed = await runCli([
        "disko",
        "diff",
        "--flake",
        `${dir}#vps`,
        "--flake",
        `${dir}#vps-renamed`,
      ]);
      assert.equal(renamed.code, 10);
      assert.match(renamed.stdout, /partlabel "disk-sda-nix" → "disk-sda-store"/);

      const recorded = [
        "--lsblk-json",
        live("vps_lsblk.json"),
        "--findmnt-json",
        live("vps_findmnt.json"),
      ];
      const same = await runCli(["disko", "diff", "--live", "--flake", `${dir}#vps`, ...recorded]);
      assert.equal(same.code, 0, same.stdout + same.stderr);
      assert.match(same.stdout, /no changes/);
      const moved = await runCli(["disko", "diff", "--flake", `${dir}#vps-renamed`, ...recorded]);
      assert.equal(moved.code, 10, moved.stdout);
      assert.match(moved.stdout, /disko renames it to "disk-sda-store"/);

      // The flake's lock file is computed, never written.
      await assert.rejects(Deno.stat(join(dir, "flake.lock")), Deno.errors.NotFound);
    });
  },
  opts,
);

nixTest(
  "--flake: an OLD from git history (git+file:…?rev=) against the working tree, as CI diffs a push",
  async () => {
    await withFlake(async (dir, rev) => {
      const vps = join(dir, "vps.nix");
      await Deno.writeTextFile(vps, (await Deno.readTextFile(vps)).replace('"80G"', '"120G"'));
      const r = await runCli([
        "disko",
        "diff",
        "--flake",
        `git+file://${dir}?rev=${rev}#vps`,
        "--flake",
        `${dir}#vps`,
        "--json",
      ]);
      assert.equal(r.code, 9, r.stderr);
      const doc = JSON.parse(r.stdout);
      assert.equal(doc.changes[0].change, '"80G" → "120G"');
    });
  },
  opts,
);

nixTest(
  "--flake: the whole system decides root-missing; disko's own errors; a configuration without disko",
  async () => {
    await withFlake(async (dir) => {
      const elsewhere = JSON.parse(
        (await runCli(["disko", "check", "--flake", `${dir}#data`, "--json"])).stdout,
      );
      assert.ok(!rules(elsewhere).some((r) => r.includes("root-missing")), rules(elsewhere).join());
      const none = await runCli(["disko", "check", "--flake", `${dir}#data-noroot`, "--json"]);
      assert.equal(none.code, 1);
      assert.ok(rules(JSON.parse(none.stdout)).includes("error root-missing "));

      const bad = await runCli(["disko", "check", "--flake", `${dir}#bad`, "--json"]);
      assert.equal(bad.code, 1);
      assert.deepEqual(rules(JSON.parse(bad.stdout)), [
        "error disko-eval disk.main.content.partitions.ESP.size",
      ]);
      const nodisko = await runCli(["disko", "check", "--flake", `${dir}#nodisko`]);
      assert.equal(nodisko.code, 4);
      assert.match(nodisko.stderr, /#nodisko: the NixOS configuration has no disko\.devices/);
      const missing = await runCli(["disko", "check", "--flake", `${dir}#nosuch`]);
      assert.equal(missing.code, 4);
      assert.match(missing.stderr, /does not provide attribute .*nixosConfigurations\."nosuch"/);
    });
  },
  opts,
);

Deno.test("--flake: a reference without #NAME or mixed with files is a usage error (exit 2)", async () => {
  const noName = await runCli(["disko", "check", "--flake", "."]);
  assert.equal(noName.code, 2);
  assert.match(noName.stderr, /names no NixOS configuration/);
  const mixed = await runCli([
    "disko",
    "diff",
    join(FIXTURES, "simple_efi.json"),
    "--flake",
    ".#x",
  ]);
  assert.equal(mixed.code, 2);
  const option = await runCli(["disko", "check", "--flake", "--impure#x"]);
  assert.equal(option.code, 2);
});
