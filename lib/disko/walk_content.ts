/**
 * The walk below one content node: every mount with the node that backs it
 * (its path without `content` links, so wrapping a filesystem in LUKS keeps its
 * identity), every reference to another top-level device, and every node of a
 * type this tool does not know. Pure.
 */
import type { FieldPath, MountModel, RefModel, UnknownNode } from "./model.ts";
import { asContent, type Content } from "./schema.ts";

const VOLATILE_FS = new Set(["tmpfs", "ramfs"]);

/** What a walk collects. */
export interface Walk {
  mounts: MountModel[];
  refs: RefModel[];
  unknown: UnknownNode[];
}

/** Adds a mount (options default to `defaults`; tmpfs and ramfs are not persistent). */
export function addMount(
  walk: Walk,
  m: Omit<MountModel, "persistent" | "options"> & { options?: readonly string[] },
) {
  walk.mounts.push({
    ...m,
    options: m.options ?? ["defaults"],
    persistent: !VOLATILE_FS.has(m.fsType),
  });
}

/**
 * The identity of the device node under a mount: its path without the
 * `content` links, so that wrapping a filesystem in LUKS keeps its identity
 * (that change is classified on its own) and moving a mountpoint does not.
 */
export function nodeIdentity(path: FieldPath): string {
  return path.filter((s) => s !== "content").join(".");
}

/** Collects mounts, references and unknown nodes below a content node. */
export function walkContent(
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
  const backing = nodeIdentity(path);
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
          backing: nodeIdentity(svPath),
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
    case "bcachefs":
      walk.refs.push({
        kind: "bcachefs_filesystems",
        name: content.filesystem,
        path: [...path, "filesystem"],
      });
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
