/**
 * Files that others read, written atomically (temp file + fsync + rename), and
 * files that others can write, read without following symlinks. The upgrade runs
 * as root on a directory a container can write, so both matter.
 */
import { basename, dirname, join } from "node:path";
import { UnsafePathError } from "./errors.ts";

/** Options for `writeFileAtomic`. */
export interface AtomicWriteOptions {
  /** Mode for a new file (an existing file keeps its mode). Default 0o644. */
  mode?: number;
}

/** `Deno.lstat` that returns null when the path does not exist. */
export async function lstatOrNull(path: string): Promise<Deno.FileInfo | null> {
  try {
    return await Deno.lstat(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    throw err;
  }
}

/** Throws UnsafePathError if `path` exists and is a symlink or not a regular file. */
export async function assertRegularOrMissing(path: string): Promise<Deno.FileInfo | null> {
  const info = await lstatOrNull(path);
  if (info?.isSymlink) throw new UnsafePathError(`${path}: is a symlink; refusing to follow it`);
  if (info && !info.isFile) throw new UnsafePathError(`${path}: is not a regular file`);
  return info;
}

/**
 * Writes `data` to `path` so that a reader sees either the old or the new file,
 * never a part: temp file in the same directory, fsync, rename, fsync of the
 * directory. Refuses (and leaves untouched) a path that is a symlink.
 */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  options: AtomicWriteOptions = {},
): Promise<void> {
  const existing = await assertRegularOrMissing(path);
  const mode = existing?.mode != null ? existing.mode & 0o7777 : (options.mode ?? 0o644);
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.tmp-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`);
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const file = await Deno.open(tmp, { write: true, createNew: true, mode });
  try {
    let written = 0;
    while (written < bytes.length) written += await file.write(bytes.subarray(written));
    await Deno.chmod(tmp, mode).catch(() => {});
    await file.sync();
  } catch (err) {
    file.close();
    await Deno.remove(tmp).catch(() => {});
    throw err;
  } finally {
    try {
      file.close();
    } catch { /* already closed */ }
  }
  try {
    await Deno.rename(tmp, path);
  } catch (err) {
    await Deno.remove(tmp).catch(() => {});
    throw err;
  }
  await syncDir(dir);
}

/** Fsyncs a directory so a rename in it survives power loss (best effort). */
export async function syncDir(dir: string): Promise<void> {
  try {
    const d = await Deno.open(dir, { read: true });
    try {
      await d.sync();
    } finally {
      d.close();
    }
  } catch { /* some filesystems refuse fsync on directories */ }
}

/** Options for `readFileSafe`. */
export interface SafeReadOptions {
  /** Refuse files larger than this (bytes). */
  maxBytes: number;
}

/**
 * Reads a file that an untrusted writer may control: refuses a symlink, a
 * non-regular file, a file over `maxBytes`, and a path swapped between the
 * check and the open. Returns null when the file does not exist.
 */
export async function readFileSafe(path: string, options: SafeReadOptions): Promise<string | null> {
  const before = await assertRegularOrMissing(path);
  if (!before) return null;
  if (before.size > options.maxBytes) {
    throw new UnsafePathError(
      `${path}: is ${before.size} bytes, more than the ${options.maxBytes} allowed`,
    );
  }
  const file = await Deno.open(path, { read: true });
  try {
    const after = await file.stat();
    if (after.ino !== before.ino || after.dev !== before.dev || !after.isFile) {
      throw new UnsafePathError(`${path}: changed while being opened; refusing it`);
    }
    const buf = new Uint8Array(options.maxBytes + 1);
    let n = 0;
    while (n < buf.length) {
      const r = await file.read(buf.subarray(n));
      if (r === null) break;
      n += r;
    }
    if (n > options.maxBytes) {
      throw new UnsafePathError(`${path}: grew past the ${options.maxBytes} bytes allowed`);
    }
    return new TextDecoder().decode(buf.subarray(0, n));
  } finally {
    file.close();
  }
}

/** Creates a directory (and parents) with `mode` if missing. */
export async function ensureDir(path: string, mode = 0o755): Promise<void> {
  await Deno.mkdir(path, { recursive: true, mode });
}

/** True if `path` exists (without following a final symlink). */
export async function exists(path: string): Promise<boolean> {
  return (await lstatOrNull(path)) !== null;
}
