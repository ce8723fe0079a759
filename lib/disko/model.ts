/**
 * The layout with disko's defaults applied, flattened for the rules, the live
 * comparison and the diff: disks with their GPT partitions in disko's creation
 * order (priority, then name), every mount with the node that backs it, and
 * the cross references (volume groups, pools, md arrays) between devices.
 * Pure: parsed tree in, model out.
 */
import { createHash } from "node:crypto";
import {
  asContent,
  type Content,
  type Devices,
  KNOWN_DEVICE_KINDS,
  type Partition,
} from "./schema.ts";

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
  /** The size as written (undefined when not set). */
  size?: string;
  /** `start` as written. */
  start?: string;
  /** `end` as written. */
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
  /** Field path of the node whose data is mounted (identity for the diff). */
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
  kind: "lvm_vg" | "zpool" | "mdadm";
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

/** disko's default priority: `100%` last (9001), BIOS boot first (100), others 1000. */
export function defaultPriority(p: Partition): number {
  if ((p.size ?? "") === "100%") return 9001;
  if (p.type === "EF02") return 100;
  return 1000;
}

/** disko's default partition label: `<parent type>-<parent name>-<part>`, hashed past 36 chars. */
export function defaultLabel(source: string): string {
  if (source.length <= GPT_LABEL_MAX) return source;
  return createHash("sha256").update(source).digest("hex").slice(0, GPT_LABEL_MAX);
}

/** udev's escaping of a partlabel in /dev/disk/by-partlabel (disko's hexEscapeUdevSymlink). */
function escapeUdev(label: string): string {
  return label.replace(
    /[^A-Za-z0-9#+\-.:=@_]/g,
    (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`,
  );
}

/** Byte order of Nix's attribute names, which disko's stable sort keeps for equal priorities. */
function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The partitions of a GPT content in disko's order, with defaults applied. */
export function orderPartitions(
  parent: { kind: "disk" | "mdadm"; name: string; path: FieldPath },
  partitions: Record<string, Partition>,
): PartitionModel[] {
  const base = Object.entries(partitions).map(([key, p]) => {
    const name = p.name ?? key;
    const source = `${parent.kind}-${parent.name}-${name}`;
    const label = p.label ?? defaultLabel(source);
    const type = p.type ?? (contentType(asContent(p.content)) === "swap" ? "8200" : "8300");
    return {
      key,
      name,
      path: [...parent.path, "content", "partitions", key],
      index: 0,
      priority: p.priority ?? defaultPriority(p),
      label,
      labelIsDefault: p.label === undefined,
      defaultLabelSource: source,
      type,
      size: p.size,
      start: p.start,
      end: p.end,
      device: "",
      content: asContent(p.content),
      uuid: p.uuid ?? null,
      explicitDevice: p.device,
    };
  });
  base.sort((a, b) => a.priority - b.priority || byName(a.name, b.name));
  return base.map(({ uuid, explicitDevice, ...p }, i) => {
    const index = i + 1;
    const device = explicitDevice ??
      (uuid
        ? `/dev/disk/by-partuuid/${uuid}`
        : parent.kind === "mdadm"
        ? `/dev/disk/by-id/md-name-any:${parent.name}-part${index}`
        : `/dev/disk/by-partlabel/${escapeUdev(p.label)}`);
    return { ...p, index, device };
  });
}

/** The `type` of a content node, or null. */
export function contentType(content: Content | null | undefined): string | null {
  if (!content) return null;
  return content.type === "unknown" ? content.originalType : content.type;
}

const VOLATILE_FS = new Set(["tmpfs", "ramfs"]);

interface Walk {
  mounts: MountModel[];
  refs: RefModel[];
  unknown: UnknownNode[];
}

function addMount(
  walk: Walk,
  m: Omit<MountModel, "persistent" | "options"> & { options?: readonly string[] },
) {
  walk.mounts.push({
    ...m,
    options: m.options ?? ["defaults"],
    persistent: !VOLATILE_FS.has(m.fsType),
  });
}

/** Collects mounts, references and unknown nodes below a content node. */
function walkContent(
  walk: Walk,
  node: {
    content: Content | null | undefined;
    path: FieldPath;
    partitionLabel?: string;
    direct?: boolean;
  },
): void {
  const { content, path, partitionLabel, direct = false } = node;
  if (!content) return;
  const backing = showPath(path);
  switch (content.type) {
    case "filesystem":
      if (content.mountpoint != null) {
        addMount(walk, {
          mountpoint: content.mountpoint,
          path: [...path, "mountpoint"],
          fsType: content.format,
          options: content.mountOptions,
          backing,
          partitionLabel,
          direct,
        });
      }
      return;
    case "btrfs":
      if (content.mountpoint != null) {
        addMount(walk, {
          mountpoint: content.mountpoint,
          path: [...path, "mountpoint"],
          fsType: "btrfs",
          options: content.mountOptions,
          backing,
          partitionLabel,
          direct,
        });
      }
      for (const [key, sv] of Object.entries(content.subvolumes ?? {})) {
        if (sv.mountpoint == null) continue;
        const svPath = [...path, "subvolumes", key];
        addMount(walk, {
          mountpoint: sv.mountpoint,
          path: [...svPath, "mountpoint"],
          fsType: "btrfs",
          options: sv.mountOptions,
          backing: showPath(svPath),
          partitionLabel,
          direct,
        });
      }
      return;
    case "luks":
      walkContent(walk, {
        content: asContent(content.content),
        path: [...path, "content"],
        partitionLabel,
      });
      return;
    case "lvm_pv":
      walk.refs.push({ kind: "lvm_vg", name: content.vg, path: [...path, "vg"] });
      return;
    case "zfs":
      walk.refs.push({ kind: "zpool", name: content.pool, path: [...path, "pool"] });
      return;
    case "mdraid":
      walk.refs.push({ kind: "mdadm", name: content.name, path: [...path, "name"] });
      return;
    case "table":
      (content.partitions ?? []).forEach((p, i) =>
        walkContent(walk, {
          content: asContent(p.content),
          path: [...path, "partitions", String(i), "content"],
        })
      );
      return;
    case "swap":
      return;
    case "gpt":
      return; // partitions are walked by the caller, which knows their labels
    case "unknown":
      walk.unknown.push({ type: content.originalType, path });
      return;
  }
}

/** Builds the model of a parsed device tree. */
export function buildModel(devices: Devices): LayoutModel {
  const walk: Walk = { mounts: [], refs: [], unknown: [] };
  const disks: DiskModel[] = [];
  const holders: {
    kind: "disk" | "mdadm";
    key: string;
    name: string;
    device: string;
    destroy: boolean;
    content: Content | null | undefined;
  }[] = [];
  for (const [key, d] of Object.entries(devices.disk ?? {})) {
    holders.push({
      kind: "disk",
      key,
      name: d.name ?? key.replaceAll("/", "_"),
      device: d.device,
      destroy: d.destroy ?? true,
      content: asContent(d.content),
    });
  }
  for (const [key, m] of Object.entries(devices.mdadm ?? {})) {
    const name = m.name ?? key;
    holders.push({
      kind: "mdadm",
      key,
      name,
      device: `/dev/md/${name}`,
      destroy: true,
      content: asContent(m.content),
    });
  }
  for (const h of holders) {
    const path = [h.kind, h.key];
    const content = h.content ?? null;
    const partitions = content?.type === "gpt"
      ? orderPartitions({ kind: h.kind, name: h.name, path }, content.partitions ?? {})
      : [];
    for (const p of partitions) {
      walkContent(walk, {
        content: p.content,
        path: [...p.path, "content"],
        partitionLabel: p.label,
        direct: true,
      });
    }
    if (content?.type !== "gpt") {
      walkContent(walk, { content: content, path: [...path, "content"] });
    }
    disks.push({
      kind: h.kind,
      key: h.key,
      name: h.name,
      path,
      device: h.device,
      destroy: h.destroy,
      contentType: contentType(content),
      partitions,
    });
  }
  for (const [key, n] of Object.entries(devices.nodev ?? {})) {
    const mp = n.mountpoint === undefined ? key : n.mountpoint;
    if (mp === null) continue;
    addMount(walk, {
      mountpoint: mp,
      path: n.mountpoint === undefined ? ["nodev", key] : ["nodev", key, "mountpoint"],
      fsType: n.fsType,
      options: n.mountOptions,
      backing: showPath(["nodev", key]),
    });
  }
  const lvs: LvModel[] = [];
  for (const [vgKey, vg] of Object.entries(devices.lvm_vg ?? {})) {
    const entries = Object.entries(vg.lvs ?? {}).map(([key, lv]) => ({
      key,
      lv,
      priority: lv.priority ??
        (lv.lvm_type === "thin-pool" ? 501 : 1000) + (lv.size.includes("100%") ? 251 : 0),
    }));
    entries.sort((a, b) =>
      a.priority - b.priority || byName(a.lv.name ?? a.key, b.lv.name ?? b.key)
    );
    entries.forEach(({ key, lv, priority }, i) => {
      const path = ["lvm_vg", vgKey, "lvs", key];
      lvs.push({ vg: vgKey, key, path, size: lv.size, priority, index: i + 1 });
      walkContent(walk, { content: asContent(lv.content), path: [...path, "content"] });
    });
  }
  for (const [key, pool] of Object.entries(devices.zpool ?? {})) {
    const path = ["zpool", key];
    if (pool.mountpoint != null) {
      addMount(walk, {
        mountpoint: pool.mountpoint,
        path: [...path, "mountpoint"],
        fsType: "zfs",
        options: pool.mountOptions,
        backing: showPath(path),
      });
    }
    for (const [dsKey, ds] of Object.entries(pool.datasets ?? {})) {
      const dsPath = [...path, "datasets", dsKey];
      if (ds.type === "zfs_volume") {
        walkContent(walk, { content: asContent(ds.content), path: [...dsPath, "content"] });
      } else if (ds.mountpoint != null) {
        addMount(walk, {
          mountpoint: ds.mountpoint,
          path: [...dsPath, "mountpoint"],
          fsType: "zfs",
          options: ds.mountOptions,
          backing: showPath(dsPath),
        });
      }
    }
  }
  for (const kind of Object.keys(devices)) {
    if (!KNOWN_DEVICE_KINDS.includes(kind)) walk.unknown.push({ type: kind, path: [kind] });
  }
  const declared = {
    lvm_vg: new Set(Object.entries(devices.lvm_vg ?? {}).map(([k, v]) => v.name ?? k)),
    zpool: new Set(Object.entries(devices.zpool ?? {}).map(([k, v]) => v.name ?? k)),
    mdadm: new Set(Object.entries(devices.mdadm ?? {}).map(([k, v]) => v.name ?? k)),
  };
  return {
    devices,
    disks,
    mounts: walk.mounts,
    refs: walk.refs,
    declared,
    lvs,
    unknown: walk.unknown,
  };
}
