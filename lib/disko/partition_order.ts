/**
 * disko's partition defaults: creation order (priority, then name), default
 * priorities, default labels (`disk-<disk>-<part>`, hashed past 36 characters)
 * and partition device paths. When disko evaluated the layout its own values
 * (label, priority, type, device and the partition number `_index`) are in the
 * tree and win; these copies of disko's rules (lib/types/gpt.nix) fill in only
 * what a layout read without disko leaves out, and a test checks that they agree
 * with disko on its 38 example layouts. Pure.
 */
import { createHash } from "node:crypto";
import { contentType, type FieldPath, GPT_LABEL_MAX, type PartitionModel } from "./model.ts";
import { asContent, type Partition } from "./schema.ts";

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

/**
 * The geometry as the rules read it: disko's defaults (`start = "0"`, `size =
 * "0"`, `end` derived from size: `+SIZE` or `-0` for 100%) become unset, so a
 * layout evaluated by disko and the same layout as written compare equal.
 */
export function canonicalGeometry(
  p: Pick<Partition, "size" | "start" | "end">,
): { size?: string; start?: string; end?: string } {
  const size = p.size === "0" ? undefined : p.size;
  const start = p.start === "0" ? undefined : p.start;
  const derived = size === undefined ? "+0" : size === "100%" ? "-0" : `+${size}`;
  const end = p.end === derived ? undefined : p.end;
  return { size, start, end };
}

/** Byte order of Nix's attribute names, which disko's stable sort keeps for equal priorities. */
export function nixNameOrder(a: string, b: string): number {
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
      // disko's evaluation writes the default out; equal to it is the default.
      labelIsDefault: p.label === undefined || p.label === defaultLabel(source),
      defaultLabelSource: source,
      type,
      ...canonicalGeometry(p),
      device: "",
      content: asContent(p.content),
      uuid: p.uuid ?? null,
      explicitDevice: p.device,
      diskoIndex: p._index,
    };
  });
  const fromDisko = base.length > 0 && base.every((p) => p.diskoIndex !== undefined);
  base.sort((a, b) =>
    fromDisko
      ? a.diskoIndex! - b.diskoIndex!
      : a.priority - b.priority || nixNameOrder(a.name, b.name)
  );
  return base.map(({ uuid, explicitDevice, diskoIndex, ...p }, i) => {
    const index = fromDisko ? diskoIndex! : i + 1;
    const device = explicitDevice ??
      (uuid
        ? `/dev/disk/by-partuuid/${uuid}`
        : parent.kind === "mdadm"
        ? `/dev/disk/by-id/md-name-any:${parent.name}-part${index}`
        : `/dev/disk/by-partlabel/${escapeUdev(p.label)}`);
    return { ...p, index, device };
  });
}
