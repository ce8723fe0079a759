/**
 * Rules about partitions and sizes: size syntax as disko/sgdisk read it, where
 * `100%` may stand, whether fixed sizes fit the disk, type codes, labels
 * (by-partlabel is one namespace across all disks) and disk device paths.
 */
import { type Finding, finding } from "./findings.ts";
import { type DiskModel, GPT_LABEL_MAX, type LayoutModel, type PartitionModel } from "./model.ts";
import {
  alignUp,
  formatBytes,
  LV_SIZE_RE,
  MIB,
  parsePartitionSize,
  parsePosition,
  SECTOR_BYTES,
} from "./size.ts";

/** Disk sizes for the fit rule: by disk attribute name, or `*` for every disk. */
export type DiskSizes = ReadonlyMap<string, number>;

const TYPE_RE =
  /^([0-9A-Fa-f]{4}|[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})$/;
const KERNEL_NAME_RE = /^\/dev\/(sd[a-z]+|vd[a-z]+|xvd[a-z]+|hd[a-z]+|nvme\d+n\d+|mmcblk\d+)$/;
/** The backup GPT at the end of the disk: header plus 32 sectors of entries. */
const BACKUP_GPT_BYTES = 33 * SECTOR_BYTES;

function sizeRules(p: PartitionModel, out: Finding[]): void {
  const at = [...p.path, "size"];
  if (p.size !== undefined) {
    const parsed = parsePartitionSize(p.size);
    if (!parsed) {
      out.push(finding("size-syntax", {
        path: at,
        message:
          `size "${p.size}" is not a size disko accepts (100%, or digits with K, M, G, T or P)`,
        fix: `write it like "512M", "80G" or "100%" (binary units, no "B", no decimals)`,
      }));
    } else if (parsed.kind === "bytes" && parsed.unitless && p.size !== "0") {
      out.push(finding("size-unitless", {
        path: at,
        message: `size "${p.size}" has no unit: sgdisk reads it as ${p.size} sectors (${
          formatBytes(parsed.bytes)
        })`,
        fix: `add the unit you mean, such as "${p.size}M"`,
      }));
    }
  }
  for (const field of ["start", "end"] as const) {
    const v = p[field];
    if (v !== undefined && !parsePosition(v)) {
      out.push(finding("size-syntax", {
        path: [...p.path, field],
        message: `${field} "${v}" is not an sgdisk position`,
        fix: `use sgdisk syntax: "0" (next free), "+512M", "-0" or "1M"`,
      }));
    }
  }
  if (p.size === undefined && p.end === undefined && p.type !== "EF02") {
    out.push(finding("size-missing", {
      path: p.path,
      message: `partition "${p.name}" has neither size nor end; disko passes end "+0" to sgdisk`,
      fix: `give it a size ("512M") or "100%" if it should fill the rest`,
    }));
  }
}

function restNotLast(disk: DiskModel, out: Finding[]): void {
  const parts = disk.partitions;
  parts.forEach((p, i) => {
    if (p.size === "100%" && i < parts.length - 1) {
      const later = parts.slice(i + 1).map((q) => `${q.name} (priority ${q.priority})`).join(", ");
      out.push(finding("size-rest-not-last", {
        path: [...p.path, "size"],
        message:
          `"${p.name}" takes 100% but disko creates ${later} after it (order: priority ${p.priority}, then name); they get no space`,
        fix:
          `give "${p.name}" the highest priority (default 9001 for 100%) or remove the priority that moves others after it`,
      }));
    }
  });
}

/** Simulates sgdisk's placement (1 MiB alignment) and reports the first partition past the end. */
function fitRule(fit: { disk: DiskModel; diskBytes: number }, out: Finding[]): void {
  const { disk, diskBytes } = fit;
  const usableEnd = diskBytes - BACKUP_GPT_BYTES;
  let cursor = MIB;
  for (const p of disk.partitions) {
    const start = p.start ? parsePosition(p.start) : { anchor: "absolute" as const, bytes: 0 };
    if (!start) return;
    cursor = alignUp(start.anchor === "absolute" && start.bytes > 0 ? start.bytes : cursor, MIB);
    const size = p.size ? parsePartitionSize(p.size) : null;
    const end = p.end ? parsePosition(p.end) : null;
    let next: number;
    if (end) {
      next = end.anchor === "plus"
        ? cursor + end.bytes
        : end.anchor === "minus"
        ? usableEnd - end.bytes
        : end.bytes;
    } else if (size?.kind === "rest") next = usableEnd;
    else if (size?.kind === "bytes") next = cursor + size.bytes;
    else if (p.size === undefined) next = cursor;
    else return;
    const restLeft = usableEnd - cursor;
    if ((size?.kind === "rest" && restLeft < MIB) || next > usableEnd) {
      const needed = next - cursor;
      out.push(finding("size-exceeds-disk", {
        path: [...p.path, "size"],
        message: size?.kind === "rest"
          ? `no space is left for "${p.name}" (100%) on ${disk.name} (${
            formatBytes(diskBytes)
          }): the partitions before it end at ${formatBytes(cursor)}`
          : `"${p.name}" (${formatBytes(needed)}) ends at ${
            formatBytes(next)
          }, past the usable end of ${disk.name} (${formatBytes(usableEnd)} of ${
            formatBytes(diskBytes)
          })`,
        fix: `shrink the fixed partitions by ${
          formatBytes(Math.max(next - usableEnd, MIB))
        } or more, or use a bigger disk`,
      }));
      return;
    }
    cursor = Math.max(cursor, next);
  }
}

function typeRule(p: PartitionModel, out: Finding[]): void {
  if (!TYPE_RE.test(p.type)) {
    out.push(finding("partition-type", {
      path: [...p.path, "type"],
      message: `type "${p.type}" is neither a 4-hex sgdisk code nor a GUID`,
      fix: `use a code such as EF00 (ESP), EF02 (BIOS boot), 8300 (Linux), 8200 (swap)`,
    }));
  }
}

function labelRules(model: LayoutModel, out: Finding[]): void {
  const seen = new Map<string, PartitionModel>();
  for (const disk of model.disks) {
    for (const p of disk.partitions) {
      const first = seen.get(p.label);
      if (first) {
        out.push(finding("label-duplicate", {
          path: [...p.path, p.labelIsDefault ? "name" : "label"],
          message: `partition label "${p.label}" is also used by ${
            first.path.join(".")
          }; /dev/disk/by-partlabel/${p.label} points at only one of them`,
          fix: `give each partition a unique label (disko's default is disk-<disk>-<partition>)`,
        }));
      } else seen.set(p.label, p);
      if (!p.labelIsDefault && p.label.length > GPT_LABEL_MAX) {
        out.push(finding("label-too-long", {
          path: [...p.path, "label"],
          message:
            `label "${p.label}" has ${p.label.length} characters; GPT names hold ${GPT_LABEL_MAX}, so sgdisk cuts it and the by-partlabel path disko mounts never appears`,
          fix: `shorten the label to ${GPT_LABEL_MAX} characters or fewer`,
        }));
      } else if (p.labelIsDefault && p.defaultLabelSource.length > GPT_LABEL_MAX) {
        out.push(finding("label-too-long", {
          path: p.path,
          severity: "warning",
          message:
            `default label "${p.defaultLabelSource}" is longer than ${GPT_LABEL_MAX} characters; disko uses a hash instead ("${p.label}")`,
          fix:
            `shorten the disk or partition name, or set an explicit label, so the partlabel stays readable`,
        }));
      }
    }
  }
}

function deviceRule(disk: DiskModel, out: Finding[]): void {
  if (disk.kind === "disk" && KERNEL_NAME_RE.test(disk.device)) {
    out.push(finding("device-kernel-name", {
      path: [...disk.path, "device"],
      message:
        `device "${disk.device}" is a kernel name; it can point at another disk after a reboot or a hardware change`,
      fix:
        `use the stable path from ls -l /dev/disk/by-id/ (for example /dev/disk/by-id/wwn-… or scsi-…)`,
    }));
  }
}

function lvRules(model: LayoutModel, out: Finding[]): void {
  const byVg = Map.groupBy(model.lvs, (lv) => lv.vg);
  for (const lvs of byVg.values()) {
    for (const lv of lvs) {
      if (!LV_SIZE_RE.test(lv.size)) {
        out.push(finding("size-syntax", {
          path: [...lv.path, "size"],
          message: `LV size "${lv.size}" is not an lvcreate size`,
          fix: `use "20G", "512M" or a percentage such as "100%FREE"`,
        }));
      }
      if (lv.size.startsWith("100%") && lv.index < lvs.length) {
        out.push(finding("size-rest-not-last", {
          path: [...lv.path, "size"],
          message: `LV "${lv.key}" takes ${lv.size} but ${
            lvs.length - lv.index
          } LV(s) are created after it (priority ${lv.priority})`,
          fix: `let the 100% LV keep the default priority, or give the others lower priorities`,
        }));
      }
    }
  }
}

/** Runs the partition and size rules; `diskSizes` enables the fit rule. */
export function partitionRules(model: LayoutModel, diskSizes: DiskSizes): Finding[] {
  const out: Finding[] = [];
  for (const disk of model.disks) {
    deviceRule(disk, out);
    for (const p of disk.partitions) {
      sizeRules(p, out);
      typeRule(p, out);
    }
    restNotLast(disk, out);
    const bytes = diskSizes.get(disk.key) ?? diskSizes.get("*");
    if (bytes !== undefined && disk.kind === "disk") fitRule({ disk, diskBytes: bytes }, out);
  }
  labelRules(model, out);
  lvRules(model, out);
  return out;
}
