/**
 * Sizes as disko passes them to sgdisk. A partition `size` is either `100%`
 * (the rest of the disk) or digits with an optional binary unit K, M, G, T, P
 * (disko's own `strMatching "[0-9]+[KMGTP]?"`); disko turns it into the sgdisk
 * end `+SIZE`, and sgdisk reads a number without a unit as sectors, not bytes.
 */

/** Bytes per unit letter: sgdisk's units are binary (1M = 1 MiB). */
const UNIT: Record<string, number> = {
  K: 2 ** 10,
  M: 2 ** 20,
  G: 2 ** 30,
  T: 2 ** 40,
  P: 2 ** 50,
};

/** The sector size disko layouts are computed with (sgdisk's default logical sector). */
export const SECTOR_BYTES = 512;

/** One mebibyte: sgdisk aligns partition starts to 2048 sectors. */
export const MIB = 2 ** 20;

/** The size syntax disko accepts for a partition `size`. */
export const PARTITION_SIZE_RE = /^(100%|[0-9]+[KMGTP]?)$/;

/** A parsed partition size. */
export type PartitionSize =
  | { kind: "rest" }
  | { kind: "bytes"; bytes: number; unitless: boolean };

/** Parses a disko partition `size`; null when disko would reject it. */
export function parsePartitionSize(text: string): PartitionSize | null {
  if (!PARTITION_SIZE_RE.test(text)) return null;
  if (text === "100%") return { kind: "rest" };
  const unit = text.at(-1)!;
  if (UNIT[unit]) {
    return { kind: "bytes", bytes: Number(text.slice(0, -1)) * UNIT[unit], unitless: false };
  }
  return { kind: "bytes", bytes: Number(text) * SECTOR_BYTES, unitless: true };
}

/** The sgdisk position syntax disko passes through for `start` and `end`. */
export const POSITION_RE = /^[+-]?[0-9]+[KMGTPs]?$/;

/** A parsed sgdisk start/end position. */
export interface Position {
  /** `+` relative to the start, `-` relative to the end of the free range, or absolute. */
  anchor: "absolute" | "plus" | "minus";
  /** The value in bytes (sectors converted at 512 bytes). */
  bytes: number;
}

/** Parses an sgdisk `start`/`end` value; null when sgdisk would reject it. */
export function parsePosition(text: string): Position | null {
  if (!POSITION_RE.test(text)) return null;
  const anchor = text[0] === "+" ? "plus" : text[0] === "-" ? "minus" : "absolute";
  const body = anchor === "absolute" ? text : text.slice(1);
  const unit = body.at(-1)!;
  const bytes = UNIT[unit]
    ? Number(body.slice(0, -1)) * UNIT[unit]
    : Number(unit === "s" ? body.slice(0, -1) : body) * SECTOR_BYTES;
  return { anchor, bytes };
}

/**
 * A partition's size in bytes when the layout fixes it: `size`, or `end` as
 * `+SIZE`, or absolute `start` and `end`; null for 100%, `-N` ends and a start
 * that depends on the partitions before it.
 */
export function partitionBytes(p: { size?: string; start?: string; end?: string }): number | null {
  const size = p.size ? parsePartitionSize(p.size) : null;
  if (size) return size.kind === "bytes" ? size.bytes : null;
  const end = p.end ? parsePosition(p.end) : null;
  if (end?.anchor === "plus") return end.bytes;
  const start = p.start ? parsePosition(p.start) : null;
  if (end?.anchor === "absolute" && start?.anchor === "absolute" && end.bytes > start.bytes) {
    return end.bytes - start.bytes;
  }
  return null;
}

/** Size syntax for an LVM logical volume (`lvcreate -L` or, with `%`, `-l`). */
export const LV_SIZE_RE = /^([0-9]+(\.[0-9]+)?[bBsSkKmMgGtTpPeE]?|[0-9]+%(FREE|VG|PVS|ORIGIN)?)$/;

/** Parses a byte count for an option such as `--disk-size`: `256060514304`, `100G`, `1.5T`, `100GiB`. */
export function parseByteCount(text: string): number | null {
  const m = /^([0-9]+(?:\.[0-9]+)?)\s*([KMGTP])?(?:i?B)?$/i.exec(text.trim());
  if (!m) return null;
  const factor = m[2] ? UNIT[m[2].toUpperCase()] : 1;
  return Math.round(Number(m[1]) * factor);
}

/** Formats bytes for people: `512M`, `80G`, `1.5T` (binary units, like the layout). */
export function formatBytes(bytes: number): string {
  const units = ["P", "T", "G", "M", "K"];
  for (const u of units) {
    const v = bytes / UNIT[u];
    if (v >= 1) return `${Number.isInteger(v) ? v : v.toFixed(1)}${u}`;
  }
  return `${bytes}B`;
}

/** Rounds up to the next multiple of `step`. */
export function alignUp(value: number, step: number): number {
  return Math.ceil(value / step) * step;
}
