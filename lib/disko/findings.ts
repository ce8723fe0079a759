/**
 * What a check reports: findings with a rule id, a severity, the field path
 * and a fix, plus the catalogue of every rule (the same table feeds `--help`,
 * docs/disko.md and the tests that make sure each rule is exercised).
 */
import type { FieldPath } from "./model.ts";

/** How bad a finding is: errors fail the check (exit 1). */
export type Severity = "error" | "warning" | "info";

/** One problem found in a layout, or one drift from the live machine. */
export interface Finding {
  /** Rule id (see RULES). */
  rule: RuleId;
  /** Severity. */
  severity: Severity;
  /** Field path inside `disko.devices` (empty for the whole layout). */
  path: string;
  /** What is wrong, with the values involved. */
  message: string;
  /** What to do about it. */
  fix: string;
}

/** A rule's catalogue entry. */
export interface RuleInfo {
  /** Default severity (a few rules report a lower one in milder cases, noted in `what`). */
  severity: Severity;
  /** What the rule checks. */
  what: string;
}

/** Every rule, by id. */
export const RULES = {
  "disko-eval": {
    severity: "error",
    what: "disko's own evaluation accepts the layout (its option types, required options)",
  },
  "size-syntax": {
    severity: "error",
    what: "size/start/end/LV size in a syntax disko and sgdisk accept",
  },
  "size-unitless": {
    severity: "warning",
    what: "a size without unit is sectors for sgdisk, not bytes",
  },
  "size-missing": {
    severity: "warning",
    what: "a partition with neither size nor end gets sgdisk end +0",
  },
  "size-rest-not-last": {
    severity: "error",
    what: "100% only on the last partition (LV) in disko's order",
  },
  "size-exceeds-disk": {
    severity: "error",
    what: "fixed sizes fit the disk (--disk-size or the live disk)",
  },
  "partition-type": { severity: "error", what: "type is a 4-hex sgdisk code or a GUID" },
  "label-duplicate": { severity: "error", what: "partition labels unique across all disks" },
  "label-too-long": {
    severity: "error",
    what: "labels fit GPT's 36 characters (warning when disko hashes a long default)",
  },
  "device-kernel-name": {
    severity: "warning",
    what: "disk device is a stable /dev/disk/by-id path",
  },
  "boot-missing": {
    severity: "error",
    what: "an ESP, EF02 or legacy-table boot exists (warning when the layout has no /)",
  },
  "esp-format": {
    severity: "error",
    what: "the ESP holds a vfat filesystem (on md: metadata 1.0)",
  },
  "esp-mountpoint": { severity: "error", what: "an ESP is mounted at /boot or /boot/efi" },
  "esp-size": {
    severity: "warning",
    what: "an ESP at /boot has room for several generations (500M or more)",
  },
  "esp-multiple": { severity: "warning", what: "one EF00 ESP per disk" },
  "esp-umask": { severity: "warning", what: "the ESP is mounted with umask=0077 (or fmask/dmask)" },
  "bios-boot": { severity: "error", what: "an EF02 partition is at least 1M and has no content" },
  "root-missing": {
    severity: "error",
    what: "something is mounted at / (warning for a layout alone: / may be declared elsewhere)",
  },
  "tmpfs-root-nix": { severity: "error", what: "a tmpfs root has a persistent /nix" },
  "tmpfs-root-state": {
    severity: "warning",
    what: "a tmpfs root has a persistent mount for state (or keeps it under /nix/persist)",
  },
  "tmpfs-root-boot": {
    severity: "error",
    what: "a tmpfs root with the ESP at /boot/efi has a persistent /boot",
  },
  "tmpfs-root-mode": { severity: "warning", what: "a tmpfs root is mounted with mode=755" },
  "needed-for-boot": {
    severity: "info",
    what: "reminder: the persistent state mount needs neededForBoot",
  },
  "mountpoint-duplicate": { severity: "error", what: "each mountpoint declared once" },
  "mountpoint-relative": { severity: "error", what: "mountpoints are absolute, normalised paths" },
  "reference-missing": {
    severity: "error",
    what: "lvm_pv.vg, zfs.pool, mdraid.name, bcachefs.filesystem name a declared device",
  },
  "raid-members": {
    severity: "error",
    what: "a ZFS mirror/raidz or md RAID has the members zpool/mdadm need (warning: 1-disk RAID1)",
  },
  "unknown-type": { severity: "warning", what: "a type this tool does not check (left unchecked)" },
  "live-disk-missing": { severity: "error", what: "--live: the disk of the layout is present" },
  "live-partition-missing": {
    severity: "error",
    what: "--live: each partition is found by its partlabel",
  },
  "live-partition-index": {
    severity: "error",
    what: "--live: partition number matches disko's order",
  },
  "live-partition-type": { severity: "error", what: "--live: GPT type matches" },
  "live-filesystem": { severity: "error", what: "--live: filesystem type matches the content" },
  "live-size": { severity: "warning", what: "--live: size matches within 1M alignment" },
  "live-mountpoint": { severity: "error", what: "--live: mounted where declared" },
  "live-extra-partition": {
    severity: "warning",
    what: "--live: a partition on the disk the layout does not declare",
  },
} as const satisfies Record<string, RuleInfo>;

/** A rule id. */
export type RuleId = keyof typeof RULES;

/** Builds a finding with the rule's default severity unless one is given. */
export function finding(
  rule: RuleId,
  text: { path: FieldPath | string; message: string; fix: string; severity?: Severity },
): Finding {
  return {
    rule,
    severity: text.severity ?? RULES[rule].severity,
    path: typeof text.path === "string" ? text.path : text.path.join("."),
    message: text.message,
    fix: text.fix,
  };
}

const ORDER: Record<Severity, number> = { error: 0, warning: 1, info: 2 };

/** Sorts findings: errors first, then by path. */
export function sortFindings(findings: Finding[]): Finding[] {
  return [...findings].sort((a, b) =>
    ORDER[a.severity] - ORDER[b.severity] || a.path.localeCompare(b.path) ||
    a.rule.localeCompare(b.rule)
  );
}

/** Counts findings by severity. */
export function countBySeverity(findings: readonly Finding[]): Record<Severity, number> {
  const counts = { error: 0, warning: 0, info: 0 };
  for (const f of findings) counts[f.severity]++;
  return counts;
}
