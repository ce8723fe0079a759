/**
 * `disko diff --live NEW`: the running machine as OLD. Each partition of the
 * new layout is matched by partlabel (lib/disko/live_compare.ts) and every
 * difference is classified like a file diff: what disko would rename, retype
 * or format over is destructive, what it would leave as it is is not applied.
 * Pure.
 */
import { type Change, sortChanges } from "./changes.ts";
import { ChangeSink } from "./diff_nodes.ts";
import {
  type DiskMatch,
  expectedFsType,
  type LiveMatch,
  type PartitionMatch,
  typeGuid,
} from "./live_compare.ts";
import type { BlockDevice, LiveSnapshot } from "./live_snapshot.ts";
import type { LayoutModel } from "./model.ts";
import { formatBytes, MIB, parsePartitionSize } from "./size.ts";

/** A declared partition whose label is not on the disk. */
function missingPartition(
  out: ChangeSink,
  input: { m: PartitionMatch; parts: BlockDevice[]; full: boolean },
): void {
  const p = input.m.declared;
  const disk = input;
  const occupant = disk.parts.find((b) => b.number === p.index);
  if (occupant) {
    out.add({
      path: p.path,
      change: `partition ${p.index} "${occupant.partlabel ?? ""}" → "${p.label}"`,
      class: "destructive",
      why:
        `partition ${p.index} has another label: fstab would mount ${p.device}, which is not on the disk, and disko renames it to "${p.label}" and retypes it ${p.type} when it runs (sgdisk --new fails, --change-name follows)`,
    });
    return;
  }
  const change = `(missing) → "${p.label}"`;
  if (disk.full) {
    out.add({
      path: p.path,
      change,
      class: "not-applied",
      why: "the disk has no free space: sgdisk cannot create it",
    });
  } else {out.add({
      path: p.path,
      change,
      class: "safe",
      why: "disko creates it in the free space",
    });}
}

/** A declared partition found by its label. */
function foundPartition(out: ChangeSink, m: PartitionMatch & { found: BlockDevice }): void {
  const p = m.declared;
  const b = m.found;
  if (b.number !== null && b.number !== p.index) {
    out.add({
      path: p.path,
      change: `partition number ${b.number} → ${p.index}`,
      class: "destructive",
      why:
        `disko's order puts "${p.label}" at ${p.index}: it renames and retypes whatever partition ${p.index} is`,
    });
  }
  const guid = typeGuid(p.type);
  if (guid && b.parttype && guid !== b.parttype) {
    out.add({
      path: [...p.path, "type"],
      change: `${b.parttype} → ${p.type}`,
      class: "destructive",
      why: "disko retypes the existing partition (sgdisk --typecode)",
    });
  }
  const fs = expectedFsType(p.content);
  if (fs && b.fstype !== fs) {
    const at = { path: [...p.path, "content"], change: `${b.fstype ?? "none"} → ${fs}` };
    if (fs === "crypto_LUKS") {
      out.add({
        ...at,
        class: "destructive",
        why: "no LUKS header on the device: disko runs luksFormat over the existing data",
      });
    } else if (b.fstype) {
      out.add({
        ...at,
        class: "not-applied",
        why:
          `disko formats only blank devices: the disk keeps its ${b.fstype} and the mount expects ${fs}`,
      });
    } else out.add({ ...at, class: "safe", why: "disko formats the blank device when it runs" });
  }
  const size = p.size ? parsePartitionSize(p.size) : null;
  if (size?.kind === "bytes" && Math.abs(b.size - size.bytes) > MIB) {
    out.add({
      path: [...p.path, "size"],
      change: `${formatBytes(b.size)} → ${p.size}`,
      class: "not-applied",
      why: "disko never resizes an existing partition",
    });
  }
}

function diskChanges(out: ChangeSink, input: { snap: LiveSnapshot; d: DiskMatch }): void {
  const { snap, d } = input;
  const found = d.found;
  if (!found) {
    out.add({
      path: [...d.declared.path, "device"],
      change: `(no such disk) → ${d.declared.device}`,
      class: "destructive",
      why:
        "the layout's disk is not on this machine: disko would partition whatever that path names",
    });
    return;
  }
  if (found.path !== d.declared.device && d.partitions.every((p) => !p.found)) {
    out.add({
      path: [...d.declared.path, "device"],
      change: `${found.path} → ${d.declared.device}`,
      class: "destructive",
      why: "none of the layout's partitions is on this disk",
    });
  }
  const parts = snap.devices.filter((b) => b.type === "part" && b.parent === found.name);
  const full = found.size - parts.reduce((s, b) => s + b.size, 0) < 2 * MIB;
  for (const m of d.partitions) {
    if (m.found) foundPartition(out, { ...m, found: m.found });
    else missingPartition(out, { m, parts, full });
  }
  for (const b of d.extra) {
    if (d.partitions.some((m) => !m.found && m.declared.index === b.number)) continue;
    out.add({
      path: d.declared.path,
      change: `${b.path} "${b.partlabel ?? ""}" not in the layout`,
      class: "not-applied",
      why: "disko does not delete partitions: it stays on disk, unmounted",
    });
  }
}

/** Classifies the changes from the machine to the new layout, worst first. */
export function diffLive(
  input: { model: LayoutModel; snap: LiveSnapshot; match: LiveMatch },
): Change[] {
  const { model, snap, match } = input;
  const out = new ChangeSink();
  for (const d of match.disks) diskChanges(out, { snap, d });
  const byLabel = new Map(
    match.disks.flatMap((d) => d.partitions).map((p) => [p.declared.label, p]),
  );
  for (const m of model.mounts) {
    const live = snap.mounts.find((x) => x.target === m.mountpoint);
    const pm = m.partitionLabel ? byLabel.get(m.partitionLabel) : undefined;
    if (m.direct && pm?.found && live && live.source !== pm.found.path) {
      out.add({
        path: m.path,
        change: `${m.mountpoint}: ${live.source} → ${pm.found.path}`,
        class: "destructive",
        why: `mounted elsewhere: ${m.mountpoint} gets another partition's data`,
      });
    } else if (live && live.fstype !== m.fsType && !(m.direct && pm?.found)) {
      out.add({
        path: m.path,
        change: `${m.mountpoint}: ${live.fstype} → ${m.fsType}`,
        ...(m.persistent
          ? {
            class: "not-applied",
            why:
              `${m.mountpoint} is ${live.fstype} today; disko does not reformat, so the mount expects a filesystem that is not there`,
          }
          : {
            class: "destructive",
            why:
              `${m.mountpoint} becomes a ${m.fsType}: what is stored there today is not mounted after the next boot`,
          }),
      });
    } else if (!live && m.persistent && snap.mounts.length) {
      out.add({
        path: m.path,
        change: `(not mounted) → ${m.mountpoint}`,
        class: "safe",
        why: "a new mount; nixos-rebuild adds it",
      });
    }
  }
  return sortChanges(out.changes);
}
