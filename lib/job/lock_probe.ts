/**
 * Whether an upgrade or rollback holds the lock, without taking it: taking it,
 * even for a moment, could make an upgrade the `.path` unit starts at that
 * instant exit "busy". Reads `/proc/locks` for a lock on the lock file's inode.
 */
import { join } from "node:path";
import { lstatOrNull } from "../host/mod.ts";

/** True when a process holds a lock on the inode `ino` according to `/proc/locks` text (pure). */
export function inodeLocked(procLocks: string, ino: number): boolean {
  return procLocks.split("\n").some((line) => {
    const fields = line.trim().split(/\s+/);
    // "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF"; a "->" line is a waiter.
    if (fields[1] === "->") return false;
    const dev = fields[5] ?? "";
    return dev.split(":").at(-1) === String(ino);
  });
}

/** True/false when known; null when `/proc/locks` cannot be read. */
export async function lockHeld(stateDir: string): Promise<boolean | null> {
  const info = await lstatOrNull(join(stateDir, "lock")).catch(() => null);
  if (!info || info.ino === null) return info ? null : false;
  try {
    return inodeLocked(await Deno.readTextFile("/proc/locks"), info.ino);
  } catch {
    return null;
  }
}
