/** Test helpers: the fixture corpus (layout JSON, recorded lsblk/findmnt) and mutation of copies. */
import { join } from "node:path";
import { parseDevices, readJsonLayout } from "../../lib/disko/load.ts";
import { buildModel } from "../../lib/disko/build_model.ts";
import type { LayoutModel } from "../../lib/disko/model.ts";
import { type LiveSnapshot, parseSnapshot } from "../../lib/disko/live_snapshot.ts";

/** The fixture directory. */
export const FIXTURES = join(import.meta.dirname!, "fixtures");

/** The valid layouts of the corpus (each has `NAME.nix` and its evaluated `NAME.json`). */
export const CORPUS = [
  "simple_efi",
  "hybrid_bios_efi",
  "luks_lvm",
  "btrfs_subvolumes",
  "zfs_mirror",
  "mdadm_raid1",
  "vps_tmpfs_root",
] as const;

/** A corpus name. */
export type CorpusName = (typeof CORPUS)[number];

// deno-lint-ignore no-explicit-any
export type Json = any;

/** A fresh copy of a fixture's evaluated JSON. */
export function layoutJson(name: CorpusName): Json {
  return JSON.parse(Deno.readTextFileSync(join(FIXTURES, `${name}.json`)));
}

/** The model of a JSON value (validated like user input, a wrapper or document accepted). */
export function modelOf(json: Json, source = "test.json"): LayoutModel {
  return buildModel(parseDevices(readJsonLayout(json, source).devices, source));
}

/** The model of a fixture after `mutate` changed a copy of it. */
export function mutated(name: CorpusName, mutate: (j: Json) => void): LayoutModel {
  const j = layoutJson(name);
  mutate(j);
  return modelOf(j, `${name}.json`);
}

/** A recorded snapshot from `fixtures/live/`. */
export function snapshot(lsblk: string, findmnt?: string): LiveSnapshot {
  const read = (f: string) => ({
    text: Deno.readTextFileSync(join(FIXTURES, "live", f)),
    source: f,
  });
  return parseSnapshot(read(lsblk), findmnt ? read(findmnt) : undefined);
}
