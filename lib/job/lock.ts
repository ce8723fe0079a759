/**
 * One upgrade or rollback at a time: an exclusive advisory lock on a file in the
 * state dir. The kernel drops it when the process dies (even SIGKILL), so a
 * crash never leaves a stale lock behind.
 */
import { join } from "node:path";
import { BusyError } from "../core/mod.ts";
import { ensureDir } from "../host/mod.ts";

/** A held lock; release it (or let the process exit). */
export interface HeldLock extends Disposable {
  /** Releases the lock. */
  release(): void;
}

/** Options for `acquireLock`. */
export interface LockOptions {
  /** Wait up to this long for a busy lock (default 0: fail at once). */
  waitMs?: number;
  /** Called once when the lock is busy and the caller waits. */
  onWait?: () => void;
}

/**
 * Takes the lock; throws BusyError when another process holds it and it is not
 * released within `waitMs`.
 */
export async function acquireLock(
  stateDir: string,
  what: string,
  options: LockOptions = {},
): Promise<HeldLock> {
  await ensureDir(stateDir, 0o700);
  const path = join(stateDir, "lock");
  const file = await Deno.open(path, { read: true, write: true, create: true, mode: 0o600 });
  const deadline = performance.now() + (options.waitMs ?? 0);
  let got = await file.tryLock(true);
  if (!got && (options.waitMs ?? 0) > 0) options.onWait?.();
  while (!got && performance.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    got = await file.tryLock(true);
  }
  if (!got) {
    file.close();
    throw new BusyError(
      `another upgrade or rollback is running (lock ${path} is held); ${what} not started`,
    );
  }
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    try {
      file.unlockSync();
    } catch { /* closing releases it anyway */ }
    file.close();
  };
  return { release, [Symbol.dispose]: release };
}
