/**
 * `disko diff OLD NEW` on two layouts: every change classified by what disko
 * does to an existing disk. disko creates partition N with `sgdisk --new` and,
 * when N exists, falls back to `--change-name`/`--typecode` on it, so a change
 * of order or label renames and retypes existing partitions; it runs mkfs and
 * luksFormat only on devices without a signature, so formats and sizes are not
 * applied, except that a content becoming LUKS is formatted over. Pure.
 */
import { type Change, type ChangeClass, show, sortChanges } from "./changes.ts";
import type { DiskModel, FieldPath, LayoutModel, PartitionModel } from "./model.ts";
import { contentType } from "./model.ts";
import { asContent, type Content } from "./schema.ts";

type Out = Change[];
type Obj = Record<string, unknown>;
type Rule = { class: ChangeClass; why: string } | "skip";

function add(out: Out, cls: ChangeClass, path: FieldPath, change: string, why: string): void {
  out.push({ class: cls, path: path.join("."), change, why });
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

const NOT_CREATED: Rule = {
  class: "not-applied",
  why: "disko uses it only when it creates the device; the existing one keeps the old setting",
};
const NODEV: Rule = {
  class: "safe",
  why: "a nodev mount keeps no data on disk; nixos-rebuild applies it",
};
const REBUILD: Rule = { class: "safe", why: "NixOS configuration: nixos-rebuild applies it" };

/** Compares the fields of two objects by a table; fields not in the table are not applied. */
function compareFields(
  out: Out,
  where: { path: FieldPath; fallback?: Rule },
  a: Obj,
  b: Obj,
  table: Record<string, Rule>,
): void {
  const path = where.path;
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  for (const k of keys) {
    const rule = table[k] ?? where.fallback ?? NOT_CREATED;
    if (rule === "skip" || same(a[k], b[k])) continue;
    add(out, rule.class, [...path, k], `${show(a[k])} → ${show(b[k])}`, rule.why);
  }
}

/** A mountpoint change: moved is destructive, added is safe, removed is not applied. */
function compareMount(out: Out, path: FieldPath, a: unknown, b: unknown): void {
  if (same(a ?? null, b ?? null)) return;
  const at = [...path, "mountpoint"];
  const change = `${show(a)} → ${show(b)}`;
  if (a != null && b != null) {
    add(
      out,
      "destructive",
      at,
      change,
      `mounted elsewhere: the data of ${a} appears at ${b}, and ${a} gets whatever else is there`,
    );
  } else if (b != null) add(out, "safe", at, change, "a new mount; nixos-rebuild adds it");
  else {add(
      out,
      "not-applied",
      at,
      change,
      `no longer mounted; the data stays on disk, ${a} is left to the parent filesystem`,
    );}
}

const FS_TABLE: Record<string, Rule> = {
  type: "skip",
  mountpoint: "skip",
  content: "skip",
  subvolumes: "skip",
  format: {
    class: "not-applied",
    why:
      "disko runs mkfs only on a device without a filesystem: the disk keeps the old one and the mount expects the new type",
  },
  mountOptions: REBUILD,
  settings: REBUILD,
  keyFile: REBUILD,
  passwordFile: REBUILD,
  additionalKeyFiles: REBUILD,
  initrdUnlock: REBUILD,
  name: {
    class: "safe",
    why: "the LUKS mapper name is NixOS configuration (initrd and fstab change together)",
  },
  randomEncryption: REBUILD,
  resumeDevice: REBUILD,
  discardPolicy: REBUILD,
  priority: REBUILD,
};

const LUKS_NAME: Rule = {
  class: "safe",
  why: "the LUKS mapper name is NixOS configuration (initrd and fstab change together)",
};

/** Compares two content nodes. */
function compareContent(out: Out, path: FieldPath, a: Content | null, b: Content | null): void {
  const ta = contentType(a);
  const tb = contentType(b);
  if (ta === null && tb === null) return;
  if (ta === null) {
    add(
      out,
      "safe",
      path,
      `(none) → ${tb}`,
      "disko formats the device only if it holds no signature",
    );
    return;
  }
  if (tb === null) {
    add(
      out,
      "not-applied",
      path,
      `${ta} → (none)`,
      "disko does not wipe: the data stays, its mounts leave fstab",
    );
    return;
  }
  if (ta !== tb) {
    if (tb === "luks") {
      add(
        out,
        "destructive",
        path,
        `${ta} → luks`,
        "the content becomes LUKS: disko runs luksFormat on a device without a LUKS header, over the existing data",
      );
    } else if (tb === "gpt" || tb === "table") {
      add(
        out,
        "destructive",
        path,
        `${ta} → ${tb}`,
        "a partition table is written over the existing content",
      );
    } else {
      add(
        out,
        "not-applied",
        path,
        `${ta} → ${tb}`,
        `disko formats only blank devices: the disk keeps its ${ta}, the configuration expects ${tb} and the mount fails`,
      );
    }
    return;
  }
  if (a!.type === "unknown" || b!.type === "unknown") {
    compareFields(out, { path: path }, a as Obj, b as Obj, {});
    return;
  }
  const table = a!.type === "luks" ? { ...FS_TABLE, name: LUKS_NAME } : FS_TABLE;
  compareFields(out, { path }, a as Obj, b as Obj, table);
  const ao = a as Obj;
  const bo = b as Obj;
  if ("mountpoint" in ao || "mountpoint" in bo) {
    compareMount(out, path, ao.mountpoint, bo.mountpoint);
  }
  if (a!.type === "luks" && b!.type === "luks") {
    compareContent(out, [...path, "content"], asContent(a!.content), asContent(b!.content));
  }
  if (a!.type === "btrfs" && b!.type === "btrfs") {
    compareKeyed(out, [...path, "subvolumes"], a!.subvolumes ?? {}, b!.subvolumes ?? {}, {
      added: {
        class: "safe",
        why: "disko creates missing subvolumes when it runs (run it before nixos-rebuild)",
      },
      compare: (p, x, y) => {
        compareFields(out, { path: p }, x as Obj, y as Obj, {
          mountpoint: "skip",
          mountOptions: REBUILD,
        });
        compareMount(out, p, (x as Obj).mountpoint, (y as Obj).mountpoint);
      },
    });
  }
  if (a!.type === "table" && b!.type === "table" && !same(a, b)) {
    add(
      out,
      "not-applied",
      path,
      "msdos table changed",
      "legacy tables are not compared in detail; disko does not rewrite an existing table",
    );
  }
}

/** Compares keyed children: removed ones are not applied, added ones as given. */
function compareKeyed<T>(
  out: Out,
  path: FieldPath,
  a: Record<string, T>,
  b: Record<string, T>,
  how: { added: { class: ChangeClass; why: string }; compare: (p: FieldPath, x: T, y: T) => void },
): void {
  for (const k of Object.keys(a).sort()) {
    if (!(k in b)) {
      add(
        out,
        "not-applied",
        [...path, k],
        "removed",
        "disko does not delete it: it stays on disk, its mounts leave fstab",
      );
    }
  }
  for (const k of Object.keys(b).sort()) {
    if (!(k in a)) add(out, how.added.class, [...path, k], "added", how.added.why);
    else how.compare([...path, k], a[k], b[k]);
  }
}

const PART_TABLE: Record<string, Rule> = {
  content: "skip",
  label: "skip",
  type: "skip",
  priority: "skip",
  name: "skip",
  size: { class: "not-applied", why: "disko never resizes an existing partition" },
  start: { class: "not-applied", why: "disko never moves an existing partition" },
  end: { class: "not-applied", why: "disko never resizes an existing partition" },
};

function comparePartitions(out: Out, oldD: DiskModel, newD: DiskModel): void {
  const oldBy = new Map(oldD.partitions.map((p) => [p.key, p]));
  const newKeys = new Set(newD.partitions.map((p) => p.key));
  const oldRest = oldD.partitions.at(-1)?.size === "100%" ? oldD.partitions.at(-1) : undefined;
  for (const p of oldD.partitions) {
    if (!newKeys.has(p.key)) {
      add(
        out,
        "not-applied",
        p.path,
        `partition ${p.index} "${p.label}" removed`,
        "disko does not delete partitions: it stays on disk, its mounts leave fstab",
      );
    }
  }
  for (const p of newD.partitions) {
    const o = oldBy.get(p.key);
    if (!o) {
      addedPartition(out, p, oldD.partitions, oldRest);
      continue;
    }
    comparePartition(out, o, p);
  }
}

function addedPartition(
  out: Out,
  p: PartitionModel,
  old: PartitionModel[],
  oldRest?: PartitionModel,
): void {
  const occupant = old.find((q) => q.index === p.index);
  if (occupant) {
    add(
      out,
      "destructive",
      p.path,
      `added as partition ${p.index}`,
      `partition ${p.index} is "${occupant.label}" on the disk: sgdisk --new fails and disko renames it to "${p.label}" and retypes it ${p.type}`,
    );
  } else if (oldRest) {
    add(
      out,
      "not-applied",
      p.path,
      `added as partition ${p.index}`,
      `"${oldRest.name}" already takes 100% of the disk: there is no free space to create it`,
    );
  } else {add(
      out,
      "safe",
      p.path,
      `added as partition ${p.index}`,
      "disko creates it in the free space after the existing partitions",
    );}
}

function comparePartition(out: Out, o: PartitionModel, p: PartitionModel): void {
  if (o.index !== p.index) {
    add(
      out,
      "destructive",
      p.path,
      `partition number ${o.index} → ${p.index}`,
      `disko's order (priority, then name) changed: it renames and retypes whatever partition ${p.index} is to "${p.label}"`,
    );
  }
  if (o.label !== p.label) {
    add(
      out,
      "destructive",
      [...p.path, "label"],
      `partlabel "${o.label}" → "${p.label}"`,
      "fstab mounts /dev/disk/by-partlabel: the old label no longer matches (the host does not boot) until disko renames the partition",
    );
  }
  if (o.type.toUpperCase() !== p.type.toUpperCase()) {
    add(
      out,
      "destructive",
      [...p.path, "type"],
      `${o.type} → ${p.type}`,
      "disko retypes the existing partition (sgdisk --typecode); firmware and tools see a different kind of partition",
    );
  }
  if (o.index === p.index && o.priority !== p.priority) {
    add(
      out,
      "safe",
      [...p.path, "priority"],
      `${o.priority} → ${p.priority}`,
      "the creation order is unchanged",
    );
  }
  compareFields(out, { path: p.path }, toObj(o), toObj(p), PART_TABLE);
  compareContent(out, [...p.path, "content"], o.content, p.content);
}

function toObj(p: PartitionModel): Obj {
  return { size: p.size, start: p.start, end: p.end };
}

function compareDisks(out: Out, a: LayoutModel, b: LayoutModel): void {
  const id = (d: DiskModel) => `${d.kind}.${d.key}`;
  const oldBy = new Map(a.disks.map((d) => [id(d), d]));
  const newIds = new Set(b.disks.map(id));
  for (const d of a.disks) {
    if (!newIds.has(id(d))) {
      add(
        out,
        "not-applied",
        d.path,
        "removed",
        "disko does not wipe a device it no longer declares; its mounts leave fstab",
      );
    }
  }
  for (const d of b.disks) {
    const o = oldBy.get(id(d));
    if (!o) {
      add(
        out,
        "safe",
        d.path,
        "added",
        "disko creates its layout (make sure the device is the empty disk you mean)",
      );
      continue;
    }
    if (o.device !== d.device) {
      add(
        out,
        "destructive",
        [...d.path, "device"],
        `${o.device} → ${d.device}`,
        "the layout now points at another device: disko partitions and formats that one",
      );
    }
    if (!o.destroy && d.destroy) {
      add(
        out,
        "destructive",
        [...d.path, "destroy"],
        "false → true",
        "disko's destroy stage (disko --mode destroy, nixos-anywhere) may now wipe this disk",
      );
    } else if (o.destroy && !d.destroy) {
      add(
        out,
        "safe",
        [...d.path, "destroy"],
        "true → false",
        "the disk is protected from disko's destroy stage",
      );
    }
    if (o.contentType === "gpt" && d.contentType === "gpt") comparePartitions(out, o, d);
    else compareContent(out, [...d.path, "content"], contentOf(a, o), contentOf(b, d));
    if (o.kind === "mdadm") {
      const ma = a.devices.mdadm?.[o.key] ?? {};
      const mb = b.devices.mdadm?.[d.key] ?? {};
      compareFields(out, { path: d.path }, ma, mb, { content: "skip", type: "skip" });
    }
  }
}

function contentOf(m: LayoutModel, d: DiskModel): Content | null {
  const src = d.kind === "disk" ? m.devices.disk?.[d.key] : m.devices.mdadm?.[d.key];
  return asContent(src?.content);
}

function compareOthers(out: Out, a: LayoutModel, b: LayoutModel): void {
  const A = a.devices;
  const B = b.devices;
  compareKeyed(out, ["nodev"], A.nodev ?? {}, B.nodev ?? {}, {
    added: { class: "safe", why: "a device-less mount; nixos-rebuild adds it" },
    compare: (p, x, y) => compareFields(out, { path: p, fallback: NODEV }, x, y, {}),
  });
  compareKeyed(out, ["lvm_vg"], A.lvm_vg ?? {}, B.lvm_vg ?? {}, {
    added: { class: "safe", why: "disko creates the volume group" },
    compare: (p, x, y) =>
      compareKeyed(out, [...p, "lvs"], x.lvs ?? {}, y.lvs ?? {}, {
        added: {
          class: "safe",
          why: "disko creates missing logical volumes when the group has free space",
        },
        compare: (lp, l1, l2) => {
          compareFields(out, { path: lp }, l1, l2, {
            content: "skip",
            priority: {
              class: "safe",
              why: "LVs are found by name; the order only matters when creating",
            },
            size: { class: "not-applied", why: "disko never resizes an existing logical volume" },
          });
          compareContent(out, [...lp, "content"], asContent(l1.content), asContent(l2.content));
        },
      }),
  });
  compareKeyed(out, ["zpool"], A.zpool ?? {}, B.zpool ?? {}, {
    added: { class: "safe", why: "disko creates the pool" },
    compare: (p, x, y) => {
      compareFields(out, { path: p }, x, y, {
        datasets: "skip",
        mountpoint: "skip",
        mountOptions: REBUILD,
        type: "skip",
      });
      compareMount(out, p, x.mountpoint, y.mountpoint);
      compareKeyed(out, [...p, "datasets"], x.datasets ?? {}, y.datasets ?? {}, {
        added: { class: "safe", why: "disko creates missing datasets" },
        compare: (dp, d1, d2) => {
          compareFields(out, { path: dp }, d1, d2, {
            mountpoint: "skip",
            mountOptions: REBUILD,
            content: "skip",
          });
          compareMount(out, dp, d1.mountpoint, d2.mountpoint);
          compareContent(out, [...dp, "content"], asContent(d1.content), asContent(d2.content));
        },
      });
    },
  });
}

/** Classifies every change from `a` (old) to `b` (new), worst first. */
export function diffLayouts(a: LayoutModel, b: LayoutModel): Change[] {
  const out: Out = [];
  compareDisks(out, a, b);
  compareOthers(out, a, b);
  return sortChanges(out);
}
