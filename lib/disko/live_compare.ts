/**
 * Compares a layout with the running machine: each declared GPT partition is
 * looked up by its partlabel (what disko's fstab mounts by), then its number,
 * type, filesystem, size (1 MiB alignment tolerance) and mountpoint are
 * compared. Pure: model and snapshot in, match and drift findings out.
 */
import { type Finding, finding } from "./findings.ts";
import type { DiskModel, LayoutModel, PartitionModel } from "./model.ts";
import type { BlockDevice, LiveMount, LiveSnapshot } from "./live_snapshot.ts";
import { formatBytes, MIB, parsePartitionSize } from "./size.ts";
import type { Content } from "./schema.ts";

/** sgdisk short codes → GPT type GUIDs (the codes disko layouts use). */
export const TYPE_GUIDS: Readonly<Record<string, string>> = {
  EF00: "c12a7328-f81f-11d2-ba4b-00a0c93ec93b",
  EF02: "21686148-6449-6e6f-744e-656564454649",
  "8300": "0fc63daf-8483-4772-8e79-3d69d8477de4",
  "8200": "0657fd6d-a4ab-43c4-84e5-0933c84b4f4f",
  "8E00": "e6d6d379-f507-44c2-a23c-238f2a3df928",
  FD00: "a19d880f-05fc-4d3b-a006-743f0f84911e",
  "8309": "ca7d7ccb-63ed-4c53-861c-1742536059cc",
  "8304": "4f68bce3-e8cd-4db1-96e7-fbcaf984b709",
  "8305": "b921b045-1df0-41c3-af44-4c6f280d3fae",
  BF00: "6a85cf4d-1dd2-11b2-99a6-080020736631",
  "0700": "ebd0a0a2-b9e5-4433-87c0-68b6b72699c7",
};

/** The GUID of a declared type, or null when this tool does not know the short code. */
export function typeGuid(type: string): string | null {
  if (type.includes("-")) return type.toLowerCase();
  return TYPE_GUIDS[type.toUpperCase()] ?? null;
}

/** The blkid signature a content leaves on its device, or null when not predictable. */
export function expectedFsType(content: Content | null): string | null {
  switch (content?.type) {
    case "filesystem":
      return content.format;
    case "btrfs":
      return "btrfs";
    case "luks":
      return "crypto_LUKS";
    case "lvm_pv":
      return "LVM2_member";
    case "zfs":
      return "zfs_member";
    case "mdraid":
      return "linux_raid_member";
    case "bcachefs":
      return "bcachefs";
    case "swap":
      return content.randomEncryption ? null : "swap";
    default:
      return null;
  }
}

/** A declared partition and what the machine has for it. */
export interface PartitionMatch {
  /** The declared partition. */
  declared: PartitionModel;
  /** The block device with its partlabel, or null. */
  found: BlockDevice | null;
  /** Where the found device is mounted (target), if anywhere. */
  mountedAt: string[];
}

/** A declared disk and the machine's disk for it. */
export interface DiskMatch {
  /** The declared disk. */
  declared: DiskModel;
  /** The machine's disk, or null. */
  found: BlockDevice | null;
  /** Per declared partition. */
  partitions: PartitionMatch[];
  /** Partitions on the found disk that the layout does not declare. */
  extra: BlockDevice[];
}

/** The whole comparison. */
export interface LiveMatch {
  /** Per declared disk (disks only; md arrays are matched through their members). */
  disks: DiskMatch[];
  /** Disk sizes in bytes by disk key, for the fit rule. */
  diskSizes: Map<string, number>;
}

/** How declared device paths map to kernel paths (`/dev/disk/by-id/…` → `/dev/sda`). */
export type DeviceResolver = (device: string) => string | null;

function findDisk(
  where: { snap: LiveSnapshot; disk: DiskModel; resolve: DeviceResolver; byLabel: BlockDevice[] },
): BlockDevice | null {
  const { snap, disk, resolve, byLabel } = where;
  const disks = snap.devices.filter((d) => d.type === "disk");
  const real = resolve(disk.device) ?? disk.device;
  const direct = disks.find((d) => d.path === real || d.path === disk.device);
  if (direct) return direct;
  const parents = new Set(byLabel.map((p) => p.parent));
  return parents.size === 1 ? disks.find((d) => parents.has(d.name)) ?? null : null;
}

/** Matches a layout with a snapshot. */
export function matchLive(
  input: { model: LayoutModel; snap: LiveSnapshot; resolve: DeviceResolver },
): LiveMatch {
  const { model, snap, resolve } = input;
  const disks: DiskMatch[] = [];
  const diskSizes = new Map<string, number>();
  for (const declared of model.disks.filter((d) => d.kind === "disk")) {
    const labelled = declared.partitions.map((p) =>
      snap.devices.find((b) => b.type === "part" && b.partlabel === p.label) ?? null
    );
    const found = findDisk({
      snap,
      disk: declared,
      resolve,
      byLabel: labelled.filter((b): b is BlockDevice => !!b),
    });
    if (found) diskSizes.set(declared.key, found.size);
    const partitions = declared.partitions.map((p, i) => {
      const onDisk = found
        ? snap.devices.find((b) =>
          b.type === "part" && b.parent === found.name && b.partlabel === p.label
        )
        : null;
      const dev = onDisk ?? labelled[i];
      return {
        declared: p,
        found: dev,
        mountedAt: dev ? snap.mounts.filter((m) => m.source === dev.path).map((m) => m.target) : [],
      };
    });
    const labels = new Set(declared.partitions.map((p) => p.label));
    const extra = found
      ? snap.devices.filter((b) =>
        b.type === "part" && b.parent === found.name && !labels.has(b.partlabel ?? "")
      )
      : [];
    disks.push({ declared, found, partitions, extra });
  }
  return { disks, diskSizes };
}

function partitionDrift(m: PartitionMatch, out: Finding[]): void {
  const p = m.declared;
  const b = m.found!;
  if (b.number !== null && b.number !== p.index) {
    out.push(finding("live-partition-index", {
      path: p.path,
      message:
        `"${p.label}" is partition ${b.number} (${b.path}) but disko's order makes it partition ${p.index}`,
      fix:
        `restore the priorities/names that gave the old order; a disko run would rename partition ${p.index}`,
    }));
  }
  const guid = typeGuid(p.type);
  if (guid && b.parttype && guid !== b.parttype) {
    out.push(finding("live-partition-type", {
      path: [...p.path, "type"],
      message:
        `"${p.label}" has type GUID ${b.parttype} on the machine, the layout says ${p.type} (${guid})`,
      fix: `set type to what the disk has, or retype on purpose with sgdisk --typecode`,
    }));
  }
  const fs = expectedFsType(p.content);
  if (fs && b.fstype !== fs) {
    out.push(finding("live-filesystem", {
      path: [...p.path, "content"],
      message: `"${p.label}" (${b.path}) holds ${
        b.fstype ?? "no filesystem signature"
      }, the layout says ${fs}`,
      fix: `make the layout match the disk; disko does not reformat an existing filesystem`,
    }));
  }
  const size = p.size ? parsePartitionSize(p.size) : null;
  if (size?.kind === "bytes" && Math.abs(b.size - size.bytes) > MIB) {
    out.push(finding("live-size", {
      path: [...p.path, "size"],
      message: `"${p.label}" is ${
        formatBytes(b.size)
      } (${b.size} bytes) on the machine, the layout says ${p.size}`,
      fix: `write the real size in the layout; disko never resizes an existing partition`,
    }));
  }
}

function mountDrift(
  input: { model: LayoutModel; match: LiveMatch; mounts: LiveMount[] },
  out: Finding[],
): void {
  const { model, match, mounts } = input;
  const byLabel = new Map(
    match.disks.flatMap((d) => d.partitions).map((p) => [p.declared.label, p]),
  );
  for (const m of model.mounts) {
    const live = mounts.find((x) => x.target === m.mountpoint);
    if (!live) {
      out.push(finding("live-mountpoint", {
        path: m.path,
        message: `${m.mountpoint} is declared but nothing is mounted there`,
        fix: `check the layout's mountpoint and the machine's /etc/fstab (findmnt ${m.mountpoint})`,
      }));
      continue;
    }
    const pm = m.partitionLabel ? byLabel.get(m.partitionLabel) : undefined;
    if (m.direct && pm?.found && live.source !== pm.found.path) {
      out.push(finding("live-mountpoint", {
        path: m.path,
        message:
          `${m.mountpoint} is mounted from ${live.source}, but the layout puts "${pm.declared.label}" (${pm.found.path}) there`,
        fix:
          `the layout mounts another partition at ${m.mountpoint} than the machine does; fix the layout`,
      }));
    } else if (live.fstype !== m.fsType) {
      out.push(finding("live-mountpoint", {
        path: m.path,
        message: `${m.mountpoint} is ${live.fstype} on the machine, the layout says ${m.fsType}`,
        fix: `make the layout's filesystem type at ${m.mountpoint} match the machine`,
      }));
    }
  }
}

/** Drift findings between a layout and the machine. */
export function liveFindings(
  input: { model: LayoutModel; snap: LiveSnapshot; match: LiveMatch },
): Finding[] {
  const { model, snap, match } = input;
  const out: Finding[] = [];
  for (const d of match.disks) {
    if (!d.found) {
      out.push(finding("live-disk-missing", {
        path: [...d.declared.path, "device"],
        message:
          `no disk on this machine is ${d.declared.device}, and its partitions' labels are not found on a single disk`,
        fix: `set device to this machine's disk (ls -l /dev/disk/by-id/)`,
      }));
    }
    for (const m of d.partitions) {
      if (!m.found) {
        out.push(finding("live-partition-missing", {
          path: m.declared.path,
          message:
            `no partition has the label "${m.declared.label}" (disko's fstab mounts /dev/disk/by-partlabel/${m.declared.label})`,
          fix: `restore the old disk/partition name or label; renaming changes the partlabel`,
        }));
      } else partitionDrift(m, out);
    }
    for (const b of d.extra) {
      out.push(finding("live-extra-partition", {
        path: d.declared.path,
        message: `${b.path} (label ${b.partlabel ?? "none"}, ${
          formatBytes(b.size)
        }) is on the disk but not in the layout`,
        fix: `declare it (with its label) or confirm it is not needed; disko leaves it alone`,
      }));
    }
  }
  if (snap.mounts.length) mountDrift({ model, match, mounts: snap.mounts }, out);
  return out;
}
