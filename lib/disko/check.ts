/**
 * The rule engine: a layout model (and, optionally, disk sizes) in, sorted
 * findings out. Pure, so every rule is tested without a host.
 */
import { type Finding, sortFindings } from "./findings.ts";
import type { LayoutModel } from "./model.ts";
import { bootRules } from "./rules_boot.ts";
import { mountRules, type SystemRoot } from "./rules_mounts.ts";
import { type DiskSizes, partitionRules } from "./rules_partitions.ts";
import { referenceRules } from "./rules_refs.ts";

/** Options of a check. */
export interface CheckOptions {
  /** Disk sizes in bytes by disk attribute name (`*` for all); enables size-exceeds-disk. */
  diskSizes?: DiskSizes;
  /** What the NixOS configuration mounts at / (known with `--flake`; undefined: unknown). */
  systemRoot?: SystemRoot;
}

/** Checks a layout and returns its findings, errors first. */
export function checkLayout(model: LayoutModel, options: CheckOptions = {}): Finding[] {
  return sortFindings([
    ...partitionRules(model, options.diskSizes ?? new Map()),
    ...bootRules(model),
    ...mountRules(model, options.systemRoot),
    ...referenceRules(model),
  ]);
}
