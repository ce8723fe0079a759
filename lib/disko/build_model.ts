/**
 * Builds the layout model from a parsed device tree: applies disko's defaults,
 * orders partitions, and walks every content node for mounts, references and
 * unknown types. Pure: parsed tree in, model out.
 */
import {
  contentType,
  type DiskModel,
  type FieldPath,
  type LayoutModel,
  type LvModel,
  showPath,
  type TableModel,
} from "./model.ts";
import { nixNameOrder, orderPartitions } from "./partition_order.ts";
import { asContent, type Content, type Devices, KNOWN_DEVICE_KINDS } from "./schema.ts";
import { addMount, type Walk, walkContent } from "./walk_content.ts";

/** The legacy table of a content, or null. */
function tableOf(content: Content | null, path: FieldPath): TableModel | null {
  if (content?.type !== "table") return null;
  return {
    format: content.format ?? "gpt",
    partitions: (content.partitions ?? []).map((p, i) => ({
      path: [...path, "content", "partitions", String(i)],
      bootable: p.bootable ?? false,
      flags: p.flags ?? [],
      content: asContent(p.content),
    })),
  };
}

/** Mounts of the bcachefs filesystems (the filesystem's own mountpoint and its subvolumes'). */
function bcachefsMounts(walk: Walk, devices: Devices): void {
  for (const [key, fs] of Object.entries(devices.bcachefs_filesystems ?? {})) {
    const path = ["bcachefs_filesystems", key];
    if (fs.mountpoint != null) {
      addMount(walk, {
        mountpoint: fs.mountpoint,
        path: [...path, "mountpoint"],
        fsType: "bcachefs",
        options: fs.mountOptions,
        backing: showPath(path),
      });
    }
    for (const [svKey, sv] of Object.entries(fs.subvolumes ?? {})) {
      if (sv.mountpoint == null) continue;
      const svPath = [...path, "subvolumes", svKey];
      addMount(walk, {
        mountpoint: sv.mountpoint,
        path: [...svPath, "mountpoint"],
        fsType: "bcachefs",
        options: sv.mountOptions,
        backing: showPath(svPath),
      });
    }
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
      table: tableOf(content, path),
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
      a.priority - b.priority || nixNameOrder(a.lv.name ?? a.key, b.lv.name ?? b.key)
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
  bcachefsMounts(walk, devices);
  for (const kind of Object.keys(devices)) {
    if (!KNOWN_DEVICE_KINDS.includes(kind)) walk.unknown.push({ type: kind, path: [kind] });
  }
  const declared = {
    lvm_vg: new Set(Object.entries(devices.lvm_vg ?? {}).map(([k, v]) => v.name ?? k)),
    zpool: new Set(Object.entries(devices.zpool ?? {}).map(([k, v]) => v.name ?? k)),
    mdadm: new Set(Object.entries(devices.mdadm ?? {}).map(([k, v]) => v.name ?? k)),
    bcachefs_filesystems: new Set(
      Object.entries(devices.bcachefs_filesystems ?? {}).map(([k, v]) => v.name ?? k),
    ),
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
