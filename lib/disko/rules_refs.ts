/**
 * Rules about the links between devices: every `lvm_pv.vg`, `zfs.pool`,
 * `mdraid.name` and `bcachefs.filesystem` names a declared device, a mirror or
 * RAID has as many members as the tool that creates it accepts, and types this
 * tool does not know are named rather than silently ignored.
 */
import { type Finding, finding } from "./findings.ts";
import type { LayoutModel } from "./model.ts";

/** Fewest members a zpool vdev mode needs. */
const ZPOOL_MIN: Readonly<Record<string, number>> = {
  mirror: 2,
  raidz: 2,
  raidz1: 2,
  raidz2: 3,
  raidz3: 4,
};

/**
 * Fewest members mdadm accepts per level, as disko calls it (`mdadm --create
 * --force`, disko lib/types/mdadm.nix): mdadm's Create.c wants 4 for level 6
 * and 2 for levels 4 and 5 (a 2-member RAID5 is valid: parity equals a mirror),
 * the default RAID10 layout (near=2) 2; one device, which mdadm.c refuses
 * without --force, is accepted for levels 0 and 1.
 */
const MD_MIN: Readonly<Record<number, number>> = { 0: 1, 1: 1, 4: 2, 5: 2, 6: 4, 10: 2 };

function referenceMissing(model: LayoutModel, out: Finding[]): void {
  for (const ref of model.refs) {
    if (model.declared[ref.kind].has(ref.name)) continue;
    out.push(finding("reference-missing", {
      path: ref.path,
      message: `"${ref.name}" names no ${ref.kind} declared in disko.devices.${ref.kind}`,
      fix: `declare disko.devices.${ref.kind}.${ref.name}, or fix the name`,
    }));
  }
}

function members(model: LayoutModel, of: { kind: "zpool" | "mdadm"; name: string }): number {
  return model.refs.filter((r) => r.kind === of.kind && r.name === of.name).length;
}

function raidMembers(model: LayoutModel, out: Finding[]): void {
  for (const [key, pool] of Object.entries(model.devices.zpool ?? {})) {
    const mode = typeof pool.mode === "string" ? pool.mode : null;
    const need = mode ? ZPOOL_MIN[mode] : undefined;
    const have = members(model, { kind: "zpool", name: pool.name ?? key });
    if (need && have < need) {
      out.push(finding("raid-members", {
        path: ["zpool", key, "mode"],
        message: `pool "${
          pool.name ?? key
        }" is a ${mode} of ${have} member(s); ${mode} needs at least ${need}`,
        fix: `add members (content = { type = "zfs"; pool = "${
          pool.name ?? key
        }"; } on more disks) or change mode`,
      }));
    }
  }
  for (const [key, md] of Object.entries(model.devices.mdadm ?? {})) {
    const level = md.level ?? 1;
    const need = MD_MIN[level];
    const have = members(model, { kind: "mdadm", name: md.name ?? key });
    const fix = `add members (content = { type = "mdraid"; name = "${
      md.name ?? key
    }"; } on more disks) or change level`;
    if (need && have < need) {
      out.push(finding("raid-members", {
        path: ["mdadm", key, "level"],
        message: `md array "${
          md.name ?? key
        }" is RAID${level} of ${have} member(s); mdadm needs at least ${need}`,
        fix,
      }));
    } else if (level === 1 && have === 1) {
      out.push(finding("raid-members", {
        path: ["mdadm", key, "level"],
        severity: "warning",
        message: `md array "${
          md.name ?? key
        }" is a RAID1 of one member: it works, with no redundancy`,
        fix,
      }));
    }
  }
}

function unknownTypes(model: LayoutModel, out: Finding[]): void {
  for (const u of model.unknown) {
    out.push(finding("unknown-type", {
      path: u.path,
      message:
        `type "${u.type}" is not checked by this tool; its partitions, sizes and mounts are not verified`,
      fix: `check this part of the layout by hand (or file an issue to support "${u.type}")`,
    }));
  }
}

/** Runs the reference rules. */
export function referenceRules(model: LayoutModel): Finding[] {
  const out: Finding[] = [];
  referenceMissing(model, out);
  raidMembers(model, out);
  unknownTypes(model, out);
  return out;
}
