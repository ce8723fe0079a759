/**
 * The layout corpus: every valid layout passes (no errors), and broken variants
 * of each are caught by the rule that names their mistake, at the right field.
 */
import assert from "node:assert/strict";
import { checkLayout } from "../../lib/disko/check.ts";
import { type Finding, type RuleId, RULES } from "../../lib/disko/findings.ts";
import { CORPUS, type CorpusName, type Json, layoutJson, modelOf, mutated } from "./fixtures.ts";

const GiB = 2 ** 30;

for (const name of CORPUS) {
  Deno.test(`corpus ${name}: valid, no errors`, () => {
    const findings = checkLayout(modelOf(layoutJson(name)), {
      diskSizes: new Map([["*", 2000 * GiB]]),
    });
    const errors = findings.filter((f) => f.severity === "error");
    assert.deepEqual(errors, []);
  });
}

Deno.test("corpus: only the VPS (on /dev/sda, tmpfs root) has warnings, and they are the expected ones", () => {
  const vps = checkLayout(modelOf(layoutJson("vps_tmpfs_root")));
  assert.deepEqual(vps.map((f) => [f.rule, f.severity, f.path]), [
    ["device-kernel-name", "warning", "disk.sda.device"],
    ["needed-for-boot", "info", "disk.sda.content.partitions.persistent.content.mountpoint"],
  ]);
  for (const name of CORPUS.filter((n) => n !== "vps_tmpfs_root")) {
    assert.deepEqual(checkLayout(modelOf(layoutJson(name))), [], name);
  }
});

interface Broken {
  name: string;
  base: CorpusName;
  mutate: (j: Json) => void;
  rule: RuleId;
  path: string;
  severity?: "error" | "warning" | "info";
  diskSize?: number;
}

const P = (disk: string, part: string) => `disk.${disk}.content.partitions.${part}`;

/** Each broken variant, the rule that must catch it and where. */
const BROKEN: Broken[] = [
  {
    name: "size with a byte suffix",
    base: "simple_efi",
    mutate: (j) => j.disk.main.content.partitions.ESP.size = "512MB",
    rule: "size-syntax",
    path: `${P("main", "ESP")}.size`,
  },
  {
    name: "100% before a partition with a higher priority",
    base: "simple_efi",
    mutate: (j) =>
      j.disk.main.content.partitions.swap = {
        size: "8G",
        priority: 9500,
        content: { type: "swap" },
      },
    rule: "size-rest-not-last",
    path: `${P("main", "root")}.size`,
  },
  {
    name: "ESP mounted at /efi",
    base: "hybrid_bios_efi",
    mutate: (j) => j.disk.main.content.partitions.ESP.content.mountpoint = "/efi",
    rule: "esp-mountpoint",
    path: `${P("main", "ESP")}.content.mountpoint`,
  },
  {
    name: "EF02 with a filesystem",
    base: "hybrid_bios_efi",
    mutate: (j) =>
      j.disk.main.content.partitions.boot.content = { type: "filesystem", format: "ext4" },
    rule: "bios-boot",
    path: `${P("main", "boot")}.content`,
  },
  {
    name: "PV in an undeclared volume group",
    base: "luks_lvm",
    mutate: (j) => j.disk.main.content.partitions.luks.content.content.vg = "pool2",
    rule: "reference-missing",
    path: `${P("main", "luks")}.content.content.vg`,
  },
  {
    name: "100%FREE LV created before others",
    base: "luks_lvm",
    mutate: (j) => j.lvm_vg.pool.lvs.root.priority = 1,
    rule: "size-rest-not-last",
    path: "lvm_vg.pool.lvs.root.size",
  },
  {
    name: "two subvolumes at /",
    base: "btrfs_subvolumes",
    mutate: (j) => j.disk.main.content.partitions.root.content.subvolumes["/home"].mountpoint = "/",
    rule: "mountpoint-duplicate",
    path: `${P("main", "root")}.content.subvolumes./rootfs.mountpoint`,
  },
  {
    name: "relative subvolume mountpoint",
    base: "btrfs_subvolumes",
    mutate: (j) =>
      j.disk.main.content.partitions.root.content.subvolumes["/home"].mountpoint = "home",
    rule: "mountpoint-relative",
    path: `${P("main", "root")}.content.subvolumes./home.mountpoint`,
  },
  {
    name: "second mirror member in another pool",
    base: "zfs_mirror",
    mutate: (j) => j.disk.b.content.partitions.zfs.content.pool = "rpool",
    rule: "reference-missing",
    path: `${P("b", "zfs")}.content.pool`,
  },
  {
    name: "ESP formatted ext4",
    base: "zfs_mirror",
    mutate: (j) => j.disk.a.content.partitions.ESP.content.format = "ext4",
    rule: "esp-format",
    path: `${P("a", "ESP")}.content.format`,
  },
  {
    name: "mirrored ESP with md metadata 1.2",
    base: "mdadm_raid1",
    mutate: (j) => j.mdadm.boot.metadata = "1.2",
    rule: "esp-format",
    path: "mdadm.boot.metadata",
  },
  {
    name: "array content referencing an undeclared md array",
    base: "mdadm_raid1",
    mutate: (j) => delete j.mdadm.raid1,
    rule: "reference-missing",
    path: `${P("one", "mdadm")}.content.name`,
  },
  {
    name: "tmpfs root without a persistent /nix",
    base: "vps_tmpfs_root",
    mutate: (j) => j.disk.sda.content.partitions.nix.content.mountpoint = "/srv",
    rule: "tmpfs-root-nix",
    path: "nodev./",
  },
  {
    name: "tmpfs root without persistent state (boots; state only under /nix/persist, if at all)",
    base: "vps_tmpfs_root",
    mutate: (j) => delete j.disk.sda.content.partitions.persistent.content.mountpoint,
    rule: "tmpfs-root-state",
    path: "nodev./",
    severity: "warning",
  },
  {
    name: "tmpfs root without mode=755",
    base: "vps_tmpfs_root",
    mutate: (j) => j.nodev["/"].mountOptions = ["size=1G"],
    rule: "tmpfs-root-mode",
    path: "nodev./",
    severity: "warning",
  },
  {
    name: "tmpfs root with the ESP at /boot/efi (so /boot is in RAM)",
    base: "vps_tmpfs_root",
    mutate: (j) => j.disk.sda.content.partitions.ESP.content.mountpoint = "/boot/efi",
    rule: "tmpfs-root-boot",
    path: "nodev./",
  },
  {
    name: "no root in the layout (another module may declare it: a warning)",
    base: "vps_tmpfs_root",
    mutate: (j) => delete j.nodev,
    rule: "root-missing",
    path: "",
    severity: "warning",
  },
  {
    name: "ESP without umask",
    base: "vps_tmpfs_root",
    mutate: (j) => delete j.disk.sda.content.partitions.ESP.content.mountOptions,
    rule: "esp-umask",
    path: `${P("sda", "ESP")}.content.mountOptions`,
    severity: "warning",
  },
  {
    name: "ESP of 64M at /boot (installs and boots; runs out of room later)",
    base: "vps_tmpfs_root",
    mutate: (j) => j.disk.sda.content.partitions.ESP.size = "64M",
    rule: "esp-size",
    path: `${P("sda", "ESP")}.size`,
    severity: "warning",
  },
  {
    name: "ESP of 127M given by start and end",
    base: "simple_efi",
    mutate: (j) => {
      const esp = j.disk.main.content.partitions.ESP;
      delete esp.size;
      Object.assign(esp, { start: "1M", end: "128M" });
    },
    rule: "esp-size",
    path: `${P("main", "ESP")}.end`,
    severity: "warning",
  },
  {
    name: "ESP of 256M at /boot",
    base: "vps_tmpfs_root",
    mutate: (j) => j.disk.sda.content.partitions.ESP.size = "256M",
    rule: "esp-size",
    path: `${P("sda", "ESP")}.size`,
    severity: "warning",
  },
  {
    name: "80G /nix on a 64G disk",
    base: "vps_tmpfs_root",
    mutate: () => {},
    diskSize: 64 * GiB,
    rule: "size-exceeds-disk",
    path: `${P("sda", "nix")}.size`,
  },
  {
    name: "explicit label used twice",
    base: "vps_tmpfs_root",
    mutate: (j) => j.disk.sda.content.partitions.nix.label = "disk-sda-ESP",
    rule: "label-duplicate",
    path: `${P("sda", "nix")}.label`,
  },
  {
    name: "explicit label over 36 characters",
    base: "vps_tmpfs_root",
    mutate: (j) =>
      j.disk.sda.content.partitions.nix.label = "grapheon-vps-nix-store-partition-label",
    rule: "label-too-long",
    path: `${P("sda", "nix")}.label`,
  },
  {
    name: "default label over 36 characters is hashed",
    base: "simple_efi",
    mutate: (j) => {
      j.disk["a-disk-with-a-long-descriptive-name"] = j.disk.main;
      delete j.disk.main;
    },
    rule: "label-too-long",
    path: "disk.a-disk-with-a-long-descriptive-name.content.partitions.root",
    severity: "warning",
  },
  {
    name: "size without unit (sectors)",
    base: "vps_tmpfs_root",
    mutate: (j) => j.disk.sda.content.partitions.nix.size = "80000",
    rule: "size-unitless",
    path: `${P("sda", "nix")}.size`,
    severity: "warning",
  },
  {
    name: "partition with no size",
    base: "vps_tmpfs_root",
    mutate: (j) => delete j.disk.sda.content.partitions.nix.size,
    rule: "size-missing",
    path: P("sda", "nix"),
    severity: "warning",
  },
  {
    name: "type that is no sgdisk code",
    base: "simple_efi",
    mutate: (j) => j.disk.main.content.partitions.root.type = "linux",
    rule: "partition-type",
    path: `${P("main", "root")}.type`,
  },
  {
    name: "no boot partition at all, with / on the layout",
    base: "simple_efi",
    mutate: (j) => delete j.disk.main.content.partitions.ESP,
    rule: "boot-missing",
    path: "disk.main",
  },
  {
    name: "no boot partition and no / (part of a system declared elsewhere: a warning)",
    base: "simple_efi",
    mutate: (j) => {
      delete j.disk.main.content.partitions.ESP;
      j.disk.main.content.partitions.root.content.mountpoint = "/srv";
    },
    rule: "boot-missing",
    path: "disk.main",
    severity: "warning",
  },
  {
    name: "a content type this tool does not know",
    base: "simple_efi",
    mutate: (j) => j.disk.main.content.partitions.root.content = { type: "stratis", pool: "root" },
    rule: "unknown-type",
    path: `${P("main", "root")}.content`,
    severity: "warning",
  },
  {
    name: "a bcachefs member of an undeclared filesystem",
    base: "simple_efi",
    mutate: (j) =>
      j.disk.main.content.partitions.root.content = { type: "bcachefs", filesystem: "pool" },
    rule: "reference-missing",
    path: `${P("main", "root")}.content.filesystem`,
  },
  {
    name: "a second ESP on the same disk",
    base: "hybrid_bios_efi",
    mutate: (j) =>
      j.disk.main.content.partitions.ESP2 = {
        size: "512M",
        type: "EF00",
        content: { type: "filesystem", format: "vfat", mountpoint: "/boot2" },
      },
    rule: "esp-multiple",
    path: `${P("main", "ESP2")}.type`,
    severity: "warning",
  },
  {
    name: "a mirror pool with one disk left",
    base: "zfs_mirror",
    mutate: (j) => delete j.disk.b,
    rule: "raid-members",
    path: "zpool.zroot.mode",
  },
  {
    name: "RAID1 arrays with one member disk left (mdadm --force accepts it: no redundancy)",
    base: "mdadm_raid1",
    mutate: (j) => delete j.disk.two,
    rule: "raid-members",
    path: "mdadm.raid1.level",
    severity: "warning",
  },
  {
    name: "a RAID6 of two members (mdadm needs 4)",
    base: "mdadm_raid1",
    mutate: (j) => j.mdadm.raid1.level = 6,
    rule: "raid-members",
    path: "mdadm.raid1.level",
  },
  {
    name: "kernel device name",
    base: "simple_efi",
    mutate: (j) => j.disk.main.device = "/dev/nvme0n1",
    rule: "device-kernel-name",
    path: "disk.main.device",
    severity: "warning",
  },
];

function caught(b: Broken): Finding[] {
  const model = mutated(b.base, b.mutate);
  const sizes = new Map([["*", b.diskSize ?? 2000 * GiB]]);
  return checkLayout(model, { diskSizes: sizes });
}

for (const b of BROKEN) {
  Deno.test(`broken ${b.base}: ${b.name} → ${b.rule}`, () => {
    const findings = caught(b);
    const hit = findings.find((f) => f.rule === b.rule && f.path === b.path);
    assert.ok(
      hit,
      `${b.rule} at ${b.path} not in ${JSON.stringify(findings.map((f) => [f.rule, f.path]))}`,
    );
    assert.equal(hit.severity, b.severity ?? "error");
    assert.ok(hit.fix.length > 0 && hit.message.length > 0);
  });
}

Deno.test("every valid corpus layout has a broken variant", () => {
  for (const name of CORPUS) assert.ok(BROKEN.some((b) => b.base === name), name);
});

Deno.test("every layout rule (not --live) is exercised by a broken variant or the VPS", () => {
  const hit = new Set<string>([...BROKEN.map((b) => b.rule), "needed-for-boot"]);
  // disko-eval is disko's own verdict: exercised through disko (disko_eval_test.ts).
  const layoutRules = Object.keys(RULES).filter((r) =>
    !r.startsWith("live-") && r !== "disko-eval"
  );
  assert.deepEqual(layoutRules.filter((r) => !hit.has(r)), []);
});

Deno.test("structure errors are bad input naming the file and the field", () => {
  assert.throws(
    () => mutated("simple_efi", (j) => delete j.disk.main.content.partitions.root.content.format),
    /simple_efi\.json: field disk\.main\.content\.partitions\.root\.content\.format: /,
  );
  assert.throws(
    () => mutated("simple_efi", (j) => j.disk.main.content.partitions.ESP.size = 512),
    /field disk\.main\.content\.partitions\.ESP\.size: .*string/,
  );
  assert.throws(
    () => mutated("simple_efi", (j) => delete j.disk.main.device),
    /field disk\.main\.device/,
  );
});
