/**
 * `.nix` layouts evaluated by plain Nix, without disko (`nix-instantiate`, or
 * `nix eval` when only the new CLI is there): the path for hosts without
 * disko. With nixpkgs' real lib (../shared/nixpkgs-lib) module properties
 * (`mkDefault`, `mkIf`, `mkMerge`) resolve through nixpkgs' own module system.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { checkLayout } from "../../lib/disko/check.ts";
import { loadLayout } from "../../lib/disko/load.ts";
import { evalDiskoNix } from "../../lib/disko/nix_eval.ts";
import { InputError } from "../../lib/core/errors.ts";
import { run } from "../../lib/host/exec.ts";
import { CORPUS, FIXTURES, layoutJson } from "./fixtures.ts";
import { nixOptions, NIXPKGS_LIB, nixTest, withFiles } from "./nix_env.ts";

const file = (path: string) => ({ kind: "file" as const, path });
const FILE = "tests/disko/nix_test.ts";

for (const name of CORPUS) {
  nixTest(`${name}.nix evaluates (plain Nix) to ${name}.json and passes the check`, async () => {
    const ev = await evalDiskoNix(join(FIXTURES, `${name}.nix`), nixOptions());
    assert.equal(ev.evaluatedBy, "nix");
    assert.deepEqual(ev.devices, layoutJson(name));
    const layout = await loadLayout(file(join(FIXTURES, `${name}.nix`)), { nix: nixOptions() });
    assert.deepEqual(layout.evaluation, { by: "nix", via: "nix-file", diskoVersion: null });
    assert.deepEqual(checkLayout(layout.model).filter((f) => f.severity === "error"), []);
  }, { file: FILE });
}

nixTest("a function asking for lib fails clearly when nixpkgs' lib is not found", async () => {
  await withFiles({ "layout.nix": "{ lib, ... }: { disko.devices = { }; }" }, async (dir) => {
    await assert.rejects(
      evalDiskoNix(join(dir, "layout.nix"), nixOptions()),
      (e) =>
        e instanceof InputError &&
        e.message.includes("layout.nix: the layout is a function that needs `lib`") &&
        e.message.includes("--nixpkgs-lib"),
    );
  });
}, { file: FILE });

nixTest(
  "with nixpkgs' real lib: a function keeps its defaults; mkDefault, mkIf and mkMerge resolve as NixOS resolves them",
  async () => {
    const layout =
      `{ lib, disks ? [ "/dev/disk/by-id/virtio-a" "/dev/disk/by-id/virtio-b" ], ... }: {
    disko.devices = lib.mkMerge [
      { disk = lib.genAttrs disks (device: {
          name = lib.replaceStrings [ "/" ] [ "_" ] device;
          device = lib.mkDefault device;
          type = "disk";
          content = {
            type = "gpt";
            partitions = {
              boot = { size = "1M"; type = "EF02"; };
              root = { size = "100%"; content = { type = "filesystem"; format = "ext4"; mountpoint = lib.mkIf (device == builtins.head disks) "/"; }; };
              extra = lib.mkIf false { size = "1G"; };
            };
          };
        }); }
      { nodev."/tmp" = { fsType = "tmpfs"; }; }
      { disk."/dev/disk/by-id/virtio-a".device = lib.mkForce "/dev/disk/by-id/virtio-forced"; }
    ];
  }`;
    await withFiles({ "with-lib.nix": layout }, async (dir) => {
      for (
        const opts of [
          nixOptions({ nixpkgsLib: NIXPKGS_LIB }),
          nixOptions({ nixPath: [`nixpkgs=${join(NIXPKGS_LIB, "..")}`] }),
        ]
      ) {
        const { model, evaluation } = await loadLayout(file(join(dir, "with-lib.nix")), {
          nix: opts,
        });
        assert.equal(evaluation.by, "nix");
        assert.deepEqual(model.disks.map((d) => [d.name, d.device, d.partitions.length]), [
          ["_dev_disk_by-id_virtio-a", "/dev/disk/by-id/virtio-forced", 2],
          ["_dev_disk_by-id_virtio-b", "/dev/disk/by-id/virtio-b", 2],
        ]);
        assert.deepEqual(model.mounts.map((m) => m.mountpoint).sort(), ["/", "/tmp"]);
        assert.equal(model.disks[0].partitions[0].label, "disk-_dev_disk_by-id_virtio-a-boot");
      }
    });
  },
  { file: FILE, shared: true },
);

nixTest("a function asking for something nobody can give names it", async () => {
  await withFiles({ "module.nix": "{ config, modulesPath, ... }: { }" }, async (dir) => {
    await assert.rejects(
      evalDiskoNix(join(dir, "module.nix"), nixOptions()),
      (e) => e instanceof InputError && /needs `config`, `modulesPath`/.test(e.message),
    );
    await assert.rejects(
      evalDiskoNix(join(dir, "module.nix"), nixOptions({ nixpkgsLib: NIXPKGS_LIB })),
      (e) => e instanceof InputError && /needs `modulesPath`;/.test(e.message),
    );
  });
}, { file: FILE, shared: true });

nixTest("a Nix error is bad input naming the file and Nix's message", async () => {
  await withFiles(
    { "broken.nix": "{ disko.devices.disk.main = { device = ; }; }" },
    async (dir) => {
      await assert.rejects(
        loadLayout(file(join(dir, "broken.nix")), { nix: nixOptions() }),
        (e) =>
          e instanceof InputError &&
          /broken\.nix: Nix evaluation failed \(nix-instantiate\): syntax error/.test(e.message),
      );
    },
  );
}, { file: FILE });

nixTest("a wrong field found after evaluation names the file and the field", async () => {
  await withFiles({
    "bad.nix": '{ disko.devices.disk.main = { type = "disk"; content = null; }; }',
  }, async (dir) => {
    await assert.rejects(
      loadLayout(file(join(dir, "bad.nix")), { nix: nixOptions() }),
      (e) => e instanceof InputError && /bad\.nix: field disk\.main\.device/.test(e.message),
    );
  });
}, { file: FILE });

nixTest("a path with quotes and spaces is data, not Nix code", async () => {
  const text = await Deno.readTextFile(join(FIXTURES, "simple_efi.nix"));
  const name = `it's a "layout" \${x}.nix`;
  await withFiles({ [name]: text }, async (dir) => {
    const ev = await evalDiskoNix(join(dir, name), nixOptions());
    assert.deepEqual(ev.devices, layoutJson("simple_efi"));
  });
}, { file: FILE });

nixTest("falls back to `nix eval` when nix-instantiate is not installed", async () => {
  const ev = await evalDiskoNix(
    join(FIXTURES, "vps_tmpfs_root.nix"),
    nixOptions({ nixInstantiate: "grapheon-test-no-such-nix-instantiate" }),
  );
  assert.deepEqual(ev.devices, layoutJson("vps_tmpfs_root"));
}, { file: FILE });

Deno.test("neither nix-instantiate nor nix installed: bad input saying so (no Nix needed)", async () => {
  await assert.rejects(
    evalDiskoNix(join(FIXTURES, "simple_efi.nix"), {
      runner: run,
      nixInstantiate: "grapheon-test-no-such-nix-instantiate",
      nix: "grapheon-test-no-such-nix",
    }),
    (e) => e instanceof InputError && /neither .* nor .* is installed/.test(e.message),
  );
});
