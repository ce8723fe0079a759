/** `disko diff` on layouts: each class of change, with the reason, and the exit code by the worst. */
import assert from "node:assert/strict";
import { type Change, diffExitCode, worstClass } from "../../lib/disko/changes.ts";
import { diffLayouts } from "../../lib/disko/diff.ts";
import { EXIT } from "../../lib/core/exit_codes.ts";
import { type CorpusName, type Json, layoutJson, modelOf, mutated } from "./fixtures.ts";

function diffOf(base: CorpusName, mutate: (j: Json) => void): Change[] {
  return diffLayouts(modelOf(layoutJson(base)), mutated(base, mutate));
}

function only(changes: Change[]): Change {
  assert.equal(changes.length, 1, JSON.stringify(changes, null, 1));
  return changes[0];
}

const VPS = "disk.sda.content.partitions";

Deno.test("no change: no changes, exit 0", () => {
  const changes = diffOf("vps_tmpfs_root", () => {});
  assert.deepEqual(changes, []);
  assert.equal(worstClass(changes), null);
  assert.equal(diffExitCode(changes), EXIT.OK);
});

Deno.test("safe: mount options, a new btrfs subvolume, a new LV, a tmpfs size, destroy turned off", () => {
  const cases: [CorpusName, (j: Json) => void, string][] = [
    [
      "vps_tmpfs_root",
      (j) => j.disk.sda.content.partitions.nix.content.mountOptions = ["noatime"],
      `${VPS}.nix.content.mountOptions`,
    ],
    [
      "btrfs_subvolumes",
      (j) =>
        j.disk.main.content.partitions.root.content.subvolumes["/log"] = { mountpoint: "/var/log" },
      "disk.main.content.partitions.root.content.subvolumes./log",
    ],
    [
      "luks_lvm",
      (j) =>
        j.lvm_vg.pool.lvs.srv = {
          size: "10G",
          content: { type: "filesystem", format: "ext4", mountpoint: "/srv" },
        },
      "lvm_vg.pool.lvs.srv",
    ],
    [
      "vps_tmpfs_root",
      (j) => j.nodev["/"].mountOptions = ["defaults", "size=2G", "mode=755"],
      "nodev./.mountOptions",
    ],
    ["simple_efi", (j) => j.disk.main.destroy = false, "disk.main.destroy"],
  ];
  for (const [base, mutate, path] of cases) {
    const c = only(diffOf(base, mutate));
    assert.equal(c.class, "safe", path);
    assert.equal(c.path, path);
    assert.equal(diffExitCode([c]), EXIT.OK);
  }
});

Deno.test("safe: a partition appended into free space (no 100% partition before it)", () => {
  const j = layoutJson("vps_tmpfs_root");
  j.disk.sda.content.partitions.persistent.size = "100G";
  const c = only(
    diffLayouts(
      modelOf(j),
      modelOf({
        ...j,
        disk: {
          sda: {
            ...j.disk.sda,
            content: {
              ...j.disk.sda.content,
              partitions: {
                ...j.disk.sda.content.partitions,
                swap: { size: "8G", priority: 2000, content: { type: "swap" } },
              },
            },
          },
        },
      }),
    ),
  );
  assert.equal(c.class, "safe");
  assert.equal(c.path, `${VPS}.swap`);
});

Deno.test("not-applied: sizes, filesystem format, mkfs args, removed partition, partition after a 100% one", () => {
  const cases: [CorpusName, (j: Json) => void, string, RegExp][] = [
    [
      "vps_tmpfs_root",
      (j) => j.disk.sda.content.partitions.nix.size = "100G",
      `${VPS}.nix.size`,
      /never resizes/,
    ],
    [
      "vps_tmpfs_root",
      (j) => j.disk.sda.content.partitions.nix.content.format = "xfs",
      `${VPS}.nix.content.format`,
      /mkfs only on a device without a filesystem/,
    ],
    [
      "btrfs_subvolumes",
      (j) => j.disk.main.content.partitions.root.content.extraArgs = ["-f", "-L", "nixos"],
      "disk.main.content.partitions.root.content.extraArgs",
      /only when it creates/,
    ],
    [
      "luks_lvm",
      (j) => j.lvm_vg.pool.lvs.home.size = "300G",
      "lvm_vg.pool.lvs.home.size",
      /never resizes/,
    ],
    ["zfs_mirror", (j) => j.zpool.zroot.mode = "", "zpool.zroot.mode", /only when it creates/],
    [
      "vps_tmpfs_root",
      (j) => {
        delete j.disk.sda.content.partitions.persistent;
      },
      `${VPS}.persistent`,
      /does not delete partitions/,
    ],
    [
      "vps_tmpfs_root",
      (j) =>
        j.disk.sda.content.partitions.swap = {
          size: "8G",
          priority: 9999,
          content: { type: "swap" },
        },
      `${VPS}.swap`,
      /already takes 100%/,
    ],
  ];
  for (const [base, mutate, path, why] of cases) {
    const c = only(diffOf(base, mutate));
    assert.equal(c.class, "not-applied", path);
    assert.equal(c.path, path);
    assert.match(c.why, why);
    assert.equal(diffExitCode([c]), EXIT.NOT_APPLIED);
  }
});

Deno.test("destructive: content becomes LUKS", () => {
  const c = only(diffOf("vps_tmpfs_root", (j) => {
    const p = j.disk.sda.content.partitions.persistent;
    p.content = { type: "luks", name: "crypted", content: p.content };
  }));
  assert.equal(c.class, "destructive");
  assert.equal(c.path, `${VPS}.persistent.content`);
  assert.match(c.why, /luksFormat/);
});

Deno.test("destructive: a partition inserted before others renumbers and renames them", () => {
  const changes = diffOf("vps_tmpfs_root", (j) => {
    j.disk.sda.content.partitions.boot = { size: "1M", type: "EF02" };
  });
  assert.deepEqual(changes.map((c) => [c.class, c.path, c.change]), [
    ["destructive", `${VPS}.boot`, "added as partition 1"],
    ["destructive", `${VPS}.ESP`, "partition number 1 → 2"],
    ["destructive", `${VPS}.nix`, "partition number 2 → 3"],
    ["destructive", `${VPS}.persistent`, "partition number 3 → 4"],
  ]);
  assert.equal(diffExitCode(changes), EXIT.DESTRUCTIVE);
});

Deno.test("destructive: renaming the disk changes every default partlabel", () => {
  const changes = diffLayouts(
    modelOf(layoutJson("vps_tmpfs_root")),
    mutated("vps_tmpfs_root", (j) => j.disk.sda.name = "main"),
  );
  assert.deepEqual(changes.map((c) => c.change), [
    'partlabel "disk-sda-ESP" → "disk-main-ESP"',
    'partlabel "disk-sda-nix" → "disk-main-nix"',
    'partlabel "disk-sda-persistent" → "disk-main-persistent"',
  ]);
  assert.ok(changes.every((c) => c.class === "destructive" && /by-partlabel/.test(c.why)));
});

Deno.test("destructive: retype, mounted elsewhere, device change, destroy turned on, explicit priority reorder", () => {
  const cases: [CorpusName, (j: Json) => void, string][] = [
    [
      "simple_efi",
      (j) => j.disk.main.content.partitions.root.type = "8304",
      "disk.main.content.partitions.root.type",
    ],
    [
      "vps_tmpfs_root",
      (j) => j.disk.sda.content.partitions.persistent.content.mountpoint = "/persist",
      `${VPS}.persistent.content.mountpoint`,
    ],
    ["simple_efi", (j) => j.disk.main.device = "/dev/disk/by-id/nvme-other", "disk.main.device"],
    [
      "luks_lvm",
      (j) => j.lvm_vg.pool.lvs.home.content.mountpoint = "/srv",
      "lvm_vg.pool.lvs.home.content.mountpoint",
    ],
    [
      "zfs_mirror",
      (j) => j.zpool.zroot.datasets.home.mountpoint = "/var/lib",
      "zpool.zroot.datasets.home.mountpoint",
    ],
  ];
  for (const [base, mutate, path] of cases) {
    const c = only(diffOf(base, mutate));
    assert.equal(c.class, "destructive", path);
    assert.equal(c.path, path);
  }
  const destroyOn = diffLayouts(
    mutated("simple_efi", (j) => j.disk.main.destroy = false),
    modelOf(layoutJson("simple_efi")),
  );
  assert.equal(only(destroyOn).class, "destructive");
  const reorder = diffOf("vps_tmpfs_root", (j) => j.disk.sda.content.partitions.nix.priority = 1);
  assert.deepEqual(reorder.map((c) => [c.class, c.change]), [
    ["destructive", "partition number 1 → 2"],
    ["destructive", "partition number 2 → 1"],
  ]);
});

Deno.test("mixed changes: exit code is the worst class", () => {
  const changes = diffOf("vps_tmpfs_root", (j) => {
    j.disk.sda.content.partitions.nix.size = "100G";
    j.nodev["/"].mountOptions = ["size=2G", "mode=755"];
  });
  assert.deepEqual(changes.map((c) => c.class), ["not-applied", "safe"]);
  assert.equal(diffExitCode(changes), EXIT.NOT_APPLIED);
});

Deno.test("destructive: / becomes a tmpfs, the old root partition moves to /persistent", () => {
  const changes = diffOf("simple_efi", (j) => {
    j.disk.main.content.partitions.root.content.mountpoint = "/persistent";
    j.nodev = { "/": { fsType: "tmpfs", mountOptions: ["mode=755"] } };
  });
  const byPath = Object.fromEntries(changes.map((c) => [`${c.class} ${c.path}`, c]));
  assert.match(byPath["destructive nodev./"].why, /becomes a tmpfs/);
  assert.match(
    byPath["destructive disk.main.content.partitions.root.content.mountpoint"].why,
    /mounted elsewhere/,
  );
  assert.equal(byPath["safe nodev./"].change, "added");
  assert.equal(diffExitCode(changes), EXIT.DESTRUCTIVE);
});

Deno.test("wrapping a filesystem in LUKS keeps its mount identity (one destructive change, not two)", () => {
  const changes = diffOf("simple_efi", (j) => {
    const root = j.disk.main.content.partitions.root;
    root.content = { type: "luks", name: "cryptroot", content: root.content };
  });
  assert.deepEqual(changes.map((c) => [c.class, c.path]), [
    ["destructive", "disk.main.content.partitions.root.content"],
  ]);
});
