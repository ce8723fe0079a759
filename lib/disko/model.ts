/**
 * The layout with disko's defaults applied, flattened for the rules, the live
 * comparison and the diff: disks with their GPT partitions in disko's creation
 * order, every mount with the node that backs it, and the cross references
 * (volume groups, pools, md arrays, bcachefs filesystems) between devices. The
 * defaults are disko's own when disko evaluated the layout, else the tool's
 * copy of them (lib/disko/partition_order.ts). The types live here;
 * lib/disko/build_model.ts builds them.
 */
import type { Content, Devices } from "./schema.ts";

/** A field path inside `disko.devices`, such as `disk.main.content.partitions.ESP.size`. */
export type FieldPath = readonly string[];

/** Joins a field path for messages. */
export function showPath(path: FieldPath): string {
  return path.join(".");
}

/** The GPT partition-name limit disko uses for default labels (72 bytes of UTF-16). */
export const GPT_LABEL_MAX = 36;

/** One GPT partition after disko's defaults. */
export interface PartitionModel {
  /** Attribute name in `partitions`. */
  key: string;
  /** Partition name (`name`, default the key). */
  name: string;
  /** Field path of the partition. */
  path: FieldPath;
  /** 1-based partition number disko gives it (its place in the sorted order). */
  index: number;
  /** Effective priority. */
  priority: number;
  /** Effective GPT partition name (partlabel). */
  label: string;
  /** True when `label` was not set and disko derives it. */
  labelIsDefault: boolean;
  /** The label disko derives before hashing (`disk-<disk>-<part>`). */
  defaultLabelSource: string;
  /** Effective type code, as written (default `8300`, or `8200` for swap content). */
  type: string;
  /** The size (undefined when not set, or disko's default "0"). */
  size?: string;
  /** `start` (undefined for disko's default "0": the next free sector). */
  start?: string;
  /** `end` (undefined when it is the one disko derives from `size`). */
  end?: string;
  /** Effective device path of the partition. */
  device: string;
  /** The content node (null for none). */
  content: Content | null;
}

/** A device that holds a partition table or content: a disk or an md array. */
export interface DiskModel {
  /** `disk` or `mdadm`. */
  kind: "disk" | "mdadm";
  /** Attribute name. */
  key: string;
  /** Effective name (`name`, default the key with `/` replaced by `_`). */
  name: string;
  /** Field path. */
  path: FieldPath;
  /** Device path (for md arrays `/dev/md/<name>`). */
  device: string;
  /** Whether disko's destroy stage may wipe it (default true). */
  destroy: boolean;
  /** Type of the top content (`gpt`, `filesystem`, …, or null). */
  contentType: string | null;
  /** GPT partitions in disko's creation order (empty for other contents). */
  partitions: PartitionModel[];
  /** A legacy `table` content: its format and partitions in order (null otherwise). */
  table: TableModel | null;
}

/** A legacy msdos/gpt `table` (disko's table.nix: parted, partitions as a list). */
export interface TableModel {
  /** `gpt` or `msdos` (disko's default gpt). */
  format: string;
  /** Partitions in list order. */
  partitions: {
    /** Field path. */
    path: FieldPath;
    /** `bootable` (parted's boot flag: the ESP type on GPT, the active flag on msdos). */
    bootable: boolean;
    /** Other parted flags (`esp`, `bios_grub`, …). */
    flags: readonly string[];
    /** The content node. */
    content: Content | null;
  }[];
}

/** One declared mount. */
export interface MountModel {
  /** The mountpoint as written. */
  mountpoint: string;
  /** Field path of the `mountpoint` field (or the nodev attribute). */
  path: FieldPath;
  /** Filesystem type (`vfat`, `ext4`, `btrfs`, `zfs`, `tmpfs`, …). */
  fsType: string;
  /** Mount options (default `defaults`). */
  options: readonly string[];
  /** Identity of the node whose data is mounted (its path without `content` links). */
  backing: string;
  /** The GPT partition label when the mount sits on a partition (directly or through layers). */
  partitionLabel?: string;
  /** True when the filesystem sits directly on that partition (no LUKS/LVM layer). */
  direct?: boolean;
  /** False for tmpfs/ramfs: gone at every boot. */
  persistent: boolean;
}

/** A reference from a content to another top-level device. */
export interface RefModel {
  /** What is referenced. */
  kind: "lvm_vg" | "zpool" | "mdadm" | "bcachefs_filesystems";
  /** Its name. */
  name: string;
  /** Field path of the referencing field. */
  path: FieldPath;
}

/** A node of a type this tool does not check. */
export interface UnknownNode {
  /** The type as written. */
  type: string;
  /** Field path of the node. */
  path: FieldPath;
}

/** A logical volume after defaults. */
export interface LvModel {
  /** Volume group attribute name. */
  vg: string;
  /** LV attribute name. */
  key: string;
  /** Field path. */
  path: FieldPath;
  /** Size as written. */
  size: string;
  /** Effective priority. */
  priority: number;
  /** Place in the VG's creation order (1-based). */
  index: number;
}

/** The whole layout. */
export interface LayoutModel {
  /** The tree as written. */
  devices: Devices;
  /** Disks and md arrays. */
  disks: DiskModel[];
  /** Every declared mount. */
  mounts: MountModel[];
  /** Cross references. */
  refs: RefModel[];
  /** Declared top-level names by kind (effective names). */
  declared: Record<RefModel["kind"], Set<string>>;
  /** Logical volumes in creation order per VG. */
  lvs: LvModel[];
  /** Nodes of unknown type. */
  unknown: UnknownNode[];
}

/** The `type` of a content node, or null. */
export function contentType(content: Content | null | undefined): string | null {
  if (!content) return null;
  return content.type === "unknown" ? content.originalType : content.type;
}
