/**
 * The building blocks of a layout diff: a sink for classified changes, field
 * tables (which field of a node disko applies to an existing device, which
 * only when creating it), mountpoint moves, keyed children and content nodes.
 * A field without a rule counts as not applied, so an unknown change never
 * passes as safe. Pure.
 */
import { type Change, type ChangeClass, show } from "./changes.ts";
import { contentType, type FieldPath } from "./model.ts";
import { asContent, type Content } from "./schema.ts";

/** A class and its reason. */
export type Verdict = { class: ChangeClass; why: string };
/**
 * How a field is compared: a verdict when it differs (`whenUnset`: disko's
 * default, equal to the field left out), or skipped (compared elsewhere).
 */
export type Rule = (Verdict & { whenUnset?: unknown }) | "skip";
type Obj = Record<string, unknown>;

/** Collects changes. */
export class ChangeSink {
  /** The changes so far. */
  readonly changes: Change[] = [];
  /** Adds one change at a field path. */
  add(c: Verdict & { path: FieldPath; change: string }): void {
    this.changes.push({ class: c.class, path: c.path.join("."), change: c.change, why: c.why });
  }
}

/** Unset, null, "", [] and {}: what disko's evaluation fills in for an option left out. */
function isEmpty(v: unknown): boolean {
  if (v === undefined || v === null || v === "") return true;
  if (Array.isArray(v)) return v.length === 0;
  return typeof v === "object" && Object.keys(v).length === 0;
}

/** Equal values; an empty value equals an unset one, so disko's filled-in defaults are no change. */
const same = (a: unknown, b: unknown) =>
  (isEmpty(a) && isEmpty(b)) || JSON.stringify(a) === JSON.stringify(b);

/** A field disko uses only when it creates the device. */
export const NOT_CREATED: Verdict = {
  class: "not-applied",
  why: "disko uses it only when it creates the device; the existing one keeps the old setting",
};
/** A field that is NixOS configuration. */
export const REBUILD: Verdict = {
  class: "safe",
  why: "NixOS configuration: nixos-rebuild applies it",
};

/** Two versions of a node at a path. */
export interface Pair<T> {
  /** Field path. */
  path: FieldPath;
  /** Old value. */
  from: T;
  /** New value. */
  to: T;
}

/** Compares the fields of two objects by a table; fields without a rule get `fallback`. */
export function compareFields(
  out: ChangeSink,
  pair: Pair<Obj> & { table: Record<string, Rule>; fallback?: Verdict },
): void {
  const { from, to } = pair;
  const keys = [...new Set([...Object.keys(from), ...Object.keys(to)])].sort();
  for (const k of keys) {
    const rule = pair.table[k] ?? pair.fallback ?? NOT_CREATED;
    if (rule === "skip") continue;
    const unset = rule.whenUnset;
    if (same(from[k] ?? unset, to[k] ?? unset)) continue;
    out.add({
      class: rule.class,
      why: rule.why,
      path: [...pair.path, k],
      change: `${show(from[k])} → ${show(to[k])}`,
    });
  }
}

/** A mountpoint change: moved is destructive, added is safe, removed is not applied. */
export function compareMount(out: ChangeSink, pair: Pair<unknown>): void {
  const { from, to } = pair;
  if (same(from ?? null, to ?? null)) return;
  const at = { path: [...pair.path, "mountpoint"], change: `${show(from)} → ${show(to)}` };
  if (from != null && to != null) {
    out.add({
      ...at,
      class: "destructive",
      why:
        `mounted elsewhere: the data of ${from} appears at ${to}, and ${from} gets whatever else is there`,
    });
  } else if (to != null) {
    out.add({ ...at, class: "safe", why: "a new mount; nixos-rebuild adds it" });
  } else {
    out.add({
      ...at,
      class: "not-applied",
      why: `no longer mounted; the data stays on disk, ${from} is left to the parent filesystem`,
    });
  }
}

/** Compares keyed children: removed ones are not applied, added ones get `added`. */
export function compareKeyed<T>(
  out: ChangeSink,
  pair: Pair<Record<string, T>> & {
    added: Verdict;
    compare: (path: FieldPath, from: T, to: T) => void;
  },
): void {
  const { from, to } = pair;
  for (const k of Object.keys(from).sort()) {
    if (!(k in to)) {
      out.add({
        path: [...pair.path, k],
        change: "removed",
        class: "not-applied",
        why: "disko does not delete it: it stays on disk, its mounts leave fstab",
      });
    }
  }
  for (const k of Object.keys(to).sort()) {
    if (!(k in from)) out.add({ ...pair.added, path: [...pair.path, k], change: "added" });
    else pair.compare([...pair.path, k], from[k], to[k]);
  }
}

const CONTENT_TABLE: Record<string, Rule> = {
  type: "skip",
  mountpoint: "skip",
  content: "skip",
  subvolumes: "skip",
  // disko derives a content's device from its parent, which is compared there.
  device: "skip",
  format: {
    class: "not-applied",
    why:
      "disko runs mkfs only on a device without a filesystem: the disk keeps the old one and the mount expects the new type",
  },
  mountOptions: { ...REBUILD, whenUnset: ["defaults"] },
  settings: REBUILD,
  keyFile: REBUILD,
  passwordFile: REBUILD,
  additionalKeyFiles: REBUILD,
  initrdUnlock: REBUILD,
  randomEncryption: REBUILD,
  resumeDevice: REBUILD,
  discardPolicy: REBUILD,
  priority: REBUILD,
};

const LUKS_NAME: Verdict = {
  class: "safe",
  why: "the LUKS mapper name is NixOS configuration (initrd and fstab change together)",
};

/** A content whose type changes. */
function typeChange(out: ChangeSink, pair: Pair<string>): void {
  const { path, from, to } = pair;
  const change = `${from} → ${to}`;
  if (to === "luks") {
    out.add({
      path,
      change,
      class: "destructive",
      why:
        "the content becomes LUKS: disko runs luksFormat on a device without a LUKS header, over the existing data",
    });
  } else if (to === "gpt" || to === "table") {
    out.add({
      path,
      change,
      class: "destructive",
      why: "a partition table is written over the existing content",
    });
  } else {
    out.add({
      path,
      change,
      class: "not-applied",
      why:
        `disko formats only blank devices: the disk keeps its ${from}, the configuration expects ${to} and the mount fails`,
    });
  }
}

/** Compares two content nodes (recursing into LUKS and btrfs subvolumes). */
export function compareContent(out: ChangeSink, pair: Pair<Content | null>): void {
  const { path, from: a, to: b } = pair;
  const ta = contentType(a);
  const tb = contentType(b);
  if (ta === null && tb === null) return;
  if (ta === null || tb === null) {
    out.add({
      path,
      change: `${ta ?? "(none)"} → ${tb ?? "(none)"}`,
      ...(ta === null
        ? { class: "safe", why: "disko formats the device only if it holds no signature" }
        : {
          class: "not-applied",
          why: "disko does not wipe: the data stays, its mounts leave fstab",
        }),
    });
    return;
  }
  if (ta !== tb) return typeChange(out, { path, from: ta, to: tb });
  const from = a as Obj;
  const to = b as Obj;
  if (a!.type === "unknown" || a!.type === "table") {
    return compareFields(out, { path, from, to, table: { type: "skip" } });
  }
  const table = a!.type === "luks" ? { ...CONTENT_TABLE, name: LUKS_NAME } : CONTENT_TABLE;
  compareFields(out, { path, from, to, table });
  if ("mountpoint" in from || "mountpoint" in to) {
    compareMount(out, { path, from: from.mountpoint, to: to.mountpoint });
  }
  if (a!.type === "luks" && b!.type === "luks") {
    const inner = [...path, "content"];
    compareContent(out, { path: inner, from: asContent(a!.content), to: asContent(b!.content) });
  }
  if (a!.type === "btrfs" && b!.type === "btrfs") {
    compareKeyed(out, {
      path: [...path, "subvolumes"],
      from: a!.subvolumes ?? {},
      to: b!.subvolumes ?? {},
      added: {
        class: "safe",
        why: "disko creates missing subvolumes when it runs (run it before nixos-rebuild)",
      },
      compare: (p, x, y) => {
        const table = { mountpoint: "skip", mountOptions: REBUILD } as const;
        compareFields(out, { path: p, from: x as Obj, to: y as Obj, table });
        compareMount(out, { path: p, from: x.mountpoint, to: y.mountpoint });
      },
    });
  }
}
