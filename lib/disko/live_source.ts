/**
 * Where the live snapshot comes from: recorded `lsblk`/`findmnt` JSON files
 * (`--lsblk-json`, `--findmnt-json`) or the commands themselves, run through
 * the command runner; and how `/dev/disk/by-id/…` paths resolve on this machine.
 */
import { errorMessage, InputError } from "../core/errors.ts";
import type { Runner } from "../host/exec.ts";
import { type LiveMatch, matchLive } from "./live_compare.ts";
import { type LiveSnapshot, parseSnapshot, readLiveSnapshot } from "./live_snapshot.ts";
import type { LayoutModel } from "./model.ts";

/** Options naming the snapshot source. */
export interface LiveSourceOptions {
  /** Recorded `lsblk --json --bytes` output. */
  "lsblk-json"?: string;
  /** Recorded `findmnt --json` output. */
  "findmnt-json"?: string;
  /** Runner for the real commands. */
  runner: Runner;
  /** lsblk program. */
  lsblk: string;
  /** findmnt program. */
  findmnt: string;
}

async function readText(file: string): Promise<{ text: string; source: string }> {
  try {
    return { text: await Deno.readTextFile(file), source: file };
  } catch (err) {
    throw new InputError(`${file}: cannot read: ${errorMessage(err)}`);
  }
}

/** Reads the snapshot from recorded files when given, else from the machine. */
export async function readLiveSource(options: LiveSourceOptions): Promise<LiveSnapshot> {
  const lsblkFile = options["lsblk-json"];
  if (!lsblkFile) return await readLiveSnapshot(options);
  const findmntFile = options["findmnt-json"];
  return parseSnapshot(
    await readText(lsblkFile),
    findmntFile ? await readText(findmntFile) : undefined,
  );
}

/** Resolves a device path through its symlinks on this machine, or null. */
export function realDeviceResolver(device: string): string | null {
  try {
    return Deno.realPathSync(device);
  } catch {
    return null;
  }
}

/**
 * Reads the machine (or the recorded JSON) and matches it with a layout. With
 * recorded JSON no device path is resolved on this machine: it is not that one.
 */
export async function readMachine(
  input: { model: LayoutModel; source: LiveSourceOptions },
): Promise<{ snap: LiveSnapshot; match: LiveMatch }> {
  const snap = await readLiveSource(input.source);
  const resolve = input.source["lsblk-json"] ? () => null : realDeviceResolver;
  return { snap, match: matchLive({ model: input.model, snap, resolve }) };
}
