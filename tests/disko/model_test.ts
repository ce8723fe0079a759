/** disko's defaults as the model applies them: order, priorities, labels, devices, sizes. */
import assert from "node:assert/strict";
import { defaultLabel, orderPartitions } from "../../lib/disko/partition_order.ts";
import { parseByteCount, parsePartitionSize, parsePosition } from "../../lib/disko/size.ts";
import { layoutJson, modelOf, mutated } from "./fixtures.ts";

Deno.test("partitions sort by priority then name: EF02 100, normal 1000, 100% 9001", () => {
  const parts = orderPartitions({ kind: "disk", name: "main", path: ["disk", "main"] }, {
    root: { size: "100%" },
    zeta: { size: "1G" },
    ESP: { size: "512M", type: "EF00" },
    boot: { size: "1M", type: "EF02" },
    alpha: { size: "1G" },
  });
  assert.deepEqual(parts.map((p) => [p.index, p.name, p.priority]), [
    [1, "boot", 100],
    [2, "ESP", 1000],
    [3, "alpha", 1000],
    [4, "zeta", 1000],
    [5, "root", 9001],
  ]);
});

Deno.test("an explicit priority moves a partition; ties keep byte order of names (uppercase first)", () => {
  const parts = orderPartitions({ kind: "disk", name: "d", path: ["disk", "d"] }, {
    b: { size: "1G" },
    a: { size: "1G", priority: 2000 },
    B: { size: "1G" },
  });
  assert.deepEqual(parts.map((p) => p.name), ["B", "b", "a"]);
});

Deno.test("default labels are disk-<disk>-<part>, hashed to 36 hex characters when longer", () => {
  const m = modelOf(layoutJson("vps_tmpfs_root"));
  assert.deepEqual(m.disks[0].partitions.map((p) => p.label), [
    "disk-sda-ESP",
    "disk-sda-nix",
    "disk-sda-persistent",
  ]);
  assert.equal(m.disks[0].partitions[0].device, "/dev/disk/by-partlabel/disk-sda-ESP");
  const long = defaultLabel("disk-a-very-long-disk-name-for-a-test-ESP");
  assert.match(long, /^[0-9a-f]{36}$/);
  assert.equal(defaultLabel("disk-main-ESP"), "disk-main-ESP");
});

Deno.test("md array partitions are labelled mdadm-<array>-<part> and reached by md-name", () => {
  const m = modelOf(layoutJson("mdadm_raid1"));
  const md = m.disks.find((d) => d.kind === "mdadm" && d.key === "raid1")!;
  assert.equal(md.partitions[0].label, "mdadm-raid1-primary");
  assert.equal(md.partitions[0].device, "/dev/disk/by-id/md-name-any:raid1-part1");
});

Deno.test("swap content defaults the type to 8200, others to 8300", () => {
  const m = mutated("simple_efi", (j) => {
    j.disk.main.content.partitions.swap = { size: "4G", content: { type: "swap" } };
  });
  const types = Object.fromEntries(m.disks[0].partitions.map((p) => [p.name, p.type]));
  assert.deepEqual(types, { ESP: "EF00", swap: "8200", root: "8300" });
});

Deno.test("sizes: disko's syntax, sgdisk sectors without a unit, positions", () => {
  assert.deepEqual(parsePartitionSize("512M"), {
    kind: "bytes",
    bytes: 512 * 2 ** 20,
    unitless: false,
  });
  assert.deepEqual(parsePartitionSize("100%"), { kind: "rest" });
  assert.deepEqual(parsePartitionSize("2048"), {
    kind: "bytes",
    bytes: 2048 * 512,
    unitless: true,
  });
  for (const bad of ["512MB", "1.5G", "50%", "512m", "", " 1G", "1GiB"]) {
    assert.equal(parsePartitionSize(bad), null, bad);
  }
  assert.deepEqual(parsePosition("-0"), { anchor: "minus", bytes: 0 });
  assert.deepEqual(parsePosition("+1G"), { anchor: "plus", bytes: 2 ** 30 });
  assert.equal(parsePosition("1 G"), null);
  assert.equal(parseByteCount("100G"), 100 * 2 ** 30);
  assert.equal(parseByteCount("256060514304"), 256060514304);
  assert.equal(parseByteCount("big"), null);
});

Deno.test("mounts carry their backing node and persistence", () => {
  const m = modelOf(layoutJson("vps_tmpfs_root"));
  const byMp = Object.fromEntries(m.mounts.map((x) => [x.mountpoint, x]));
  assert.equal(byMp["/"].persistent, false);
  assert.equal(byMp["/nix"].persistent, true);
  assert.equal(byMp["/nix"].partitionLabel, "disk-sda-nix");
  assert.equal(byMp["/nix"].direct, true);
  const luks = modelOf(layoutJson("luks_lvm"));
  assert.deepEqual(luks.mounts.filter((x) => x.direct).map((x) => x.mountpoint), ["/boot"]);
  assert.deepEqual(luks.lvs.map((l) => l.key), ["home", "swap", "root"]);
});

Deno.test("the {disko:{devices}} wrapper is accepted; unknown device kinds are named; bcachefs is known", () => {
  const j = layoutJson("simple_efi");
  j.bcachefs_filesystems = {
    pool: { type: "bcachefs_filesystem", subvolumes: { "root/home": { mountpoint: "/home" } } },
  };
  j.futurefs_pools = {};
  const m = modelOf({ disko: { devices: j } });
  assert.deepEqual(m.mounts.map((x) => x.mountpoint).sort(), ["/", "/boot", "/home"]);
  assert.deepEqual(m.unknown, [{ type: "futurefs_pools", path: ["futurefs_pools"] }]);
  assert.ok(m.declared.bcachefs_filesystems.has("pool"));
});

Deno.test("disko's evaluated defaults read as the defaults: geometry, label, _index", () => {
  const parts = orderPartitions({ kind: "disk", name: "main", path: ["disk", "main"] }, {
    // As disko's evaluation writes them (lib/types/gpt.nix defaults filled in).
    ESP: {
      size: "512M",
      start: "0",
      end: "+512M",
      label: "disk-main-ESP",
      priority: 1000,
      type: "EF00",
      _index: 1,
    },
    data: { size: "0", start: "1M", end: "-10M", label: "x", priority: 1000, _index: 2 },
    root: {
      size: "100%",
      start: "0",
      end: "-0",
      label: "disk-main-root",
      priority: 9001,
      _index: 3,
    },
  });
  assert.deepEqual(parts.map((p) => [p.index, p.size, p.start, p.end, p.labelIsDefault]), [
    [1, "512M", undefined, undefined, true],
    [2, undefined, "1M", "-10M", false],
    [3, "100%", undefined, undefined, true],
  ]);
});
