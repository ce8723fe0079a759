/**
 * `disko diff OLD NEW` on two layouts: every change classified by what disko
 * does to an existing disk. disko creates partition N with `sgdisk --new` and,
 * when N exists, falls back to `--change-name`/`--typecode` on it, so a change
 * of order or label renames and retypes existing partitions; it runs mkfs and
 * luksFormat only on devices without a signature, so formats and sizes are not
 * applied, except that a content becoming LUKS is formatted over. Pure.
 */
import { type Change, sortChanges } from "./changes.ts";
import {
  ChangeSink,
  compareContent,
  compareFields,
  compareKeyed,
  compareMount,
  REBUILD,
  type Rule,
  type Verdict,
} from "./diff_nodes.ts";
import type { DiskModel, LayoutModel, PartitionModel } from "./model.ts";
import { asContent, type Content } from "./schema.ts";

const PART_TABLE: Record<string, Rule> = {
  size: { class: "not-applied", why: "disko never resizes an existing partition" },
  start: { class: "not-applied", why: "disko never moves an existing partition" },
  end: { class: "not-applied", why: "disko never resizes an existing partition" },
};

const NODEV: Verdict = {
  class: "safe",
  why: "a nodev mount keeps no data on disk; nixos-rebuild applies it",
};

/** A partition that the new layout adds. */
function addedPartition(
  out: ChangeSink,
  input: { p: PartitionModel; old: { partitions: PartitionModel[]; rest?: PartitionModel } },
): void {
  const { p, old } = input;
  const at = { path: p.path, change: `added as partition ${p.index}` };
  const occupant = old.partitions.find((q) => q.index === p.index);
  if (occupant) {
    out.add({
      ...at,
      class: "destructive",
      why:
        `partition ${p.index} is "${occupant.label}" on the disk: sgdisk --new fails and disko renames it to "${p.label}" and retypes it ${p.type}`,
    });
  } else if (old.rest) {
    out.add({
      ...at,
      class: "not-applied",
      why: `"${old.rest.name}" already takes 100% of the disk: there is no free space to create it`,
    });
  } else {
    out.add({
      ...at,
      class: "safe",
      why: "disko creates it in the free space after the existing partitions",
    });
  }
}

/** A partition in both layouts. */
function comparePartition(out: ChangeSink, pair: { o: PartitionModel; p: PartitionModel }): void {
  const { o, p } = pair;
  if (o.index !== p.index) {
    out.add({
      path: p.path,
      change: `partition number ${o.index} → ${p.index}`,
      class: "destructive",
      why:
        `disko's order (priority, then name) changed: it renames and retypes whatever partition ${p.index} is to "${p.label}"`,
    });
  } else if (o.priority !== p.priority) {
    out.add({
      path: [...p.path, "priority"],
      change: `${o.priority} → ${p.priority}`,
      class: "safe",
      why: "the creation order is unchanged",
    });
  }
  if (o.label !== p.label) {
    out.add({
      path: [...p.path, "label"],
      change: `partlabel "${o.label}" → "${p.label}"`,
      class: "destructive",
      why:
        "fstab mounts /dev/disk/by-partlabel: the old label no longer matches (the host does not boot) until disko renames the partition",
    });
  }
  if (o.type.toUpperCase() !== p.type.toUpperCase()) {
    out.add({
      path: [...p.path, "type"],
      change: `${o.type} → ${p.type}`,
      class: "destructive",
      why:
        "disko retypes the existing partition (sgdisk --typecode); firmware and tools see a different kind of partition",
    });
  }
  const geometry = (q: PartitionModel) => ({ size: q.size, start: q.start, end: q.end });
  compareFields(out, { path: p.path, from: geometry(o), to: geometry(p), table: PART_TABLE });
  compareContent(out, { path: [...p.path, "content"], from: o.content, to: p.content });
}

function comparePartitions(out: ChangeSink, pair: { oldD: DiskModel; newD: DiskModel }): void {
  const { oldD, newD } = pair;
  const oldBy = new Map(oldD.partitions.map((p) => [p.key, p]));
  const newKeys = new Set(newD.partitions.map((p) => p.key));
  const last = oldD.partitions.at(-1);
  const rest = last?.size === "100%" ? last : undefined;
  for (const p of oldD.partitions) {
    if (newKeys.has(p.key)) continue;
    out.add({
      path: p.path,
      change: `partition ${p.index} "${p.label}" removed`,
      class: "not-applied",
      why: "disko does not delete partitions: it stays on disk, its mounts leave fstab",
    });
  }
  for (const p of newD.partitions) {
    const o = oldBy.get(p.key);
    if (o) comparePartition(out, { o, p });
    else addedPartition(out, { p, old: { partitions: oldD.partitions, rest } });
  }
}

/** The old (`a`) and the new (`b`) layout. */
interface Layouts {
  a: LayoutModel;
  b: LayoutModel;
}

function contentOf(m: LayoutModel, d: DiskModel): Content | null {
  const src = d.kind === "disk" ? m.devices.disk?.[d.key] : m.devices.mdadm?.[d.key];
  return asContent(src?.content);
}

/** A disk (or md array) in both layouts. */
function compareDisk(
  out: ChangeSink,
  pair: { a: LayoutModel; b: LayoutModel; o: DiskModel; d: DiskModel },
): void {
  const { a, b, o, d } = pair;
  if (o.device !== d.device) {
    out.add({
      path: [...d.path, "device"],
      change: `${o.device} → ${d.device}`,
      class: "destructive",
      why: "the layout now points at another device: disko partitions and formats that one",
    });
  }
  if (o.destroy !== d.destroy) {
    out.add({
      path: [...d.path, "destroy"],
      change: `${o.destroy} → ${d.destroy}`,
      ...(d.destroy
        ? {
          class: "destructive",
          why:
            "disko's destroy stage (disko --mode destroy, nixos-anywhere) may now wipe this disk",
        }
        : { class: "safe", why: "the disk is protected from disko's destroy stage" }),
    });
  }
  if (o.contentType === "gpt" && d.contentType === "gpt") {
    comparePartitions(out, { oldD: o, newD: d });
  } else {
    const path = [...d.path, "content"];
    compareContent(out, { path, from: contentOf(a, o), to: contentOf(b, d) });
  }
  if (o.kind === "mdadm") {
    const from = a.devices.mdadm?.[o.key] ?? {};
    const to = b.devices.mdadm?.[d.key] ?? {};
    compareFields(out, { path: d.path, from, to, table: { content: "skip", type: "skip" } });
  }
}

function compareDisks(out: ChangeSink, { a, b }: Layouts): void {
  const id = (d: DiskModel) => `${d.kind}.${d.key}`;
  const oldBy = new Map(a.disks.map((d) => [id(d), d]));
  const newIds = new Set(b.disks.map(id));
  for (const d of a.disks) {
    if (newIds.has(id(d))) continue;
    out.add({
      path: d.path,
      change: "removed",
      class: "not-applied",
      why: "disko does not wipe a device it no longer declares; its mounts leave fstab",
    });
  }
  for (const d of b.disks) {
    const o = oldBy.get(id(d));
    if (o) compareDisk(out, { a, b, o, d });
    else {
      out.add({
        path: d.path,
        change: "added",
        class: "safe",
        why: "disko creates its layout (make sure the device is the empty disk you mean)",
      });
    }
  }
}

function compareLvm(out: ChangeSink, { a, b }: Layouts): void {
  compareKeyed(out, {
    path: ["lvm_vg"],
    from: a.devices.lvm_vg ?? {},
    to: b.devices.lvm_vg ?? {},
    added: { class: "safe", why: "disko creates the volume group" },
    compare: (p, x, y) =>
      compareKeyed(out, {
        path: [...p, "lvs"],
        from: x.lvs ?? {},
        to: y.lvs ?? {},
        added: {
          class: "safe",
          why: "disko creates missing logical volumes when the group has free space",
        },
        compare: (lp, l1, l2) => {
          compareFields(out, {
            path: lp,
            from: l1,
            to: l2,
            table: {
              content: "skip",
              priority: {
                class: "safe",
                why: "LVs are found by name; the order only matters when creating",
              },
              size: { class: "not-applied", why: "disko never resizes an existing logical volume" },
            },
          });
          const path = [...lp, "content"];
          compareContent(out, { path, from: asContent(l1.content), to: asContent(l2.content) });
        },
      }),
  });
}

function compareZfs(out: ChangeSink, { a, b }: Layouts): void {
  compareKeyed(out, {
    path: ["zpool"],
    from: a.devices.zpool ?? {},
    to: b.devices.zpool ?? {},
    added: { class: "safe", why: "disko creates the pool" },
    compare: (p, x, y) => {
      const table = {
        datasets: "skip",
        mountpoint: "skip",
        mountOptions: REBUILD,
        type: "skip",
      } as const;
      compareFields(out, { path: p, from: x, to: y, table });
      compareMount(out, { path: p, from: x.mountpoint, to: y.mountpoint });
      compareKeyed(out, {
        path: [...p, "datasets"],
        from: x.datasets ?? {},
        to: y.datasets ?? {},
        added: { class: "safe", why: "disko creates missing datasets" },
        compare: (dp, d1, d2) => {
          const dsTable = { mountpoint: "skip", mountOptions: REBUILD, content: "skip" } as const;
          compareFields(out, { path: dp, from: d1, to: d2, table: dsTable });
          compareMount(out, { path: dp, from: d1.mountpoint, to: d2.mountpoint });
          const path = [...dp, "content"];
          compareContent(out, { path, from: asContent(d1.content), to: asContent(d2.content) });
        },
      });
    },
  });
}

/** A mountpoint that another node provides now: its old data is no longer there. */
function compareMountOwners(out: ChangeSink, { a, b }: Layouts): void {
  const before = new Map(a.mounts.map((m) => [m.mountpoint, m]));
  for (const m of b.mounts) {
    const o = before.get(m.mountpoint);
    if (!o || o.backing === m.backing) continue;
    out.add({
      path: m.path,
      change: `${m.mountpoint}: ${o.backing} (${o.fsType}) → ${m.backing} (${m.fsType})`,
      class: "destructive",
      why: m.persistent
        ? `mounted elsewhere: ${m.mountpoint} now shows another device's data, not what is there today`
        : `${m.mountpoint} becomes a ${m.fsType}: what is stored there today is not mounted after the next boot`,
    });
  }
}

/** Classifies every change from `a` (old) to `b` (new), worst first. */
export function diffLayouts(a: LayoutModel, b: LayoutModel): Change[] {
  const out = new ChangeSink();
  compareDisks(out, { a, b });
  compareMountOwners(out, { a, b });
  compareKeyed(out, {
    path: ["nodev"],
    from: a.devices.nodev ?? {},
    to: b.devices.nodev ?? {},
    added: { class: "safe", why: "a device-less mount; nixos-rebuild adds it" },
    compare: (p, x, y) =>
      compareFields(out, { path: p, from: x, to: y, table: {}, fallback: NODEV }),
  });
  compareLvm(out, { a, b });
  compareZfs(out, { a, b });
  return sortChanges(out.changes);
}
