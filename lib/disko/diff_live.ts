/**
 * `disko diff --live NEW`: the running machine as OLD. Each partition of the
 * new layout is matched by partlabel (lib/disko/live_compare.ts) and every
 * difference is classified like a file diff: what disko would rename, retype
 * or format over is destructive, what it would leave as it is is not applied.
 * Pure.
 */
import { type Change, type ChangeClass, sortChanges } from "./changes.ts";
import { expectedFsType, type LiveMatch, typeGuid } from "./live_compare.ts";
import type { LiveSnapshot } from "./live_snapshot.ts";
import type { FieldPath, LayoutModel } from "./model.ts";
import { formatBytes, MIB, parsePartitionSize } from "./size.ts";

function add(out: Change[], cls: ChangeClass, path: FieldPath, change: string, why: string): void {
  out.push({ class: cls, path: path.join("."), change, why });
}

/** Classifies the changes from the machine to the new layout, worst first. */
export function diffLive(model: LayoutModel, snap: LiveSnapshot, match: LiveMatch): Change[] {
  const out: Change[] = [];
  for (const d of match.disks) {
    if (!d.found) {
      add(
        out,
        "destructive",
        [...d.declared.path, "device"],
        `(no such disk) → ${d.declared.device}`,
        "the layout's disk is not on this machine: disko would partition whatever that path names",
      );
      continue;
    }
    if (d.found.path !== d.declared.device && d.partitions.every((p) => !p.found)) {
      add(
        out,
        "destructive",
        [...d.declared.path, "device"],
        `${d.found.path} → ${d.declared.device}`,
        "none of the layout's partitions is on this disk",
      );
    }
    const parts = snap.devices.filter((b) => b.type === "part" && b.parent === d.found!.name);
    const used = parts.reduce((s, b) => s + b.size, 0);
    const full = d.found.size - used < 2 * MIB;
    for (const m of d.partitions) {
      const p = m.declared;
      if (!m.found) {
        const occupant = parts.find((b) => b.number === p.index);
        if (occupant) {
          add(
            out,
            "destructive",
            p.path,
            `partition ${p.index} "${occupant.partlabel ?? ""}" → "${p.label}"`,
            `partition ${p.index} exists with another label: sgdisk --new fails and disko renames it to "${p.label}" and retypes it ${p.type}`,
          );
        } else if (full) {
          add(
            out,
            "not-applied",
            p.path,
            `(missing) → "${p.label}"`,
            "the disk has no free space: sgdisk cannot create it",
          );
        } else {add(
            out,
            "safe",
            p.path,
            `(missing) → "${p.label}"`,
            "disko creates it in the free space",
          );}
        continue;
      }
      const b = m.found;
      if (b.number !== null && b.number !== p.index) {
        add(
          out,
          "destructive",
          p.path,
          `partition number ${b.number} → ${p.index}`,
          `disko's order puts "${p.label}" at ${p.index}: it renames and retypes whatever partition ${p.index} is`,
        );
      }
      const guid = typeGuid(p.type);
      if (guid && b.parttype && guid !== b.parttype) {
        add(
          out,
          "destructive",
          [...p.path, "type"],
          `${b.parttype} → ${p.type}`,
          "disko retypes the existing partition (sgdisk --typecode)",
        );
      }
      const fs = expectedFsType(p.content);
      if (fs && b.fstype !== fs) {
        if (fs === "crypto_LUKS") {
          add(
            out,
            "destructive",
            [...p.path, "content"],
            `${b.fstype ?? "none"} → luks`,
            "no LUKS header on the device: disko runs luksFormat over the existing data",
          );
        } else {
          add(
            out,
            "not-applied",
            [...p.path, "content"],
            `${b.fstype ?? "none"} → ${fs}`,
            b.fstype
              ? `disko formats only blank devices: the disk keeps its ${b.fstype} and the mount expects ${fs}`
              : "disko formats the blank device when it runs",
          );
        }
      }
      const size = p.size ? parsePartitionSize(p.size) : null;
      if (size?.kind === "bytes" && Math.abs(b.size - size.bytes) > MIB) {
        add(
          out,
          "not-applied",
          [...p.path, "size"],
          `${formatBytes(b.size)} → ${p.size}`,
          "disko never resizes an existing partition",
        );
      }
    }
    for (const b of d.extra) {
      const taken = d.partitions.some((m) => !m.found && m.declared.index === b.number);
      if (!taken) {
        add(
          out,
          "not-applied",
          d.declared.path,
          `${b.path} "${b.partlabel ?? ""}" not in the layout`,
          "disko does not delete partitions: it stays on disk, unmounted",
        );
      }
    }
  }
  for (const m of model.mounts) {
    const live = snap.mounts.find((x) => x.target === m.mountpoint);
    const pm = match.disks.flatMap((d) => d.partitions).find((p) =>
      p.declared.label === m.partitionLabel
    );
    if (m.direct && pm?.found && live && live.source !== pm.found.path) {
      add(
        out,
        "destructive",
        m.path,
        `${m.mountpoint}: ${live.source} → ${pm.found.path}`,
        `mounted elsewhere: ${m.mountpoint} gets another partition's data`,
      );
    } else if (!live && m.persistent && snap.mounts.length) {
      add(
        out,
        "safe",
        m.path,
        `(not mounted) → ${m.mountpoint}`,
        "a new mount; nixos-rebuild adds it",
      );
    }
  }
  return sortChanges(out);
}
