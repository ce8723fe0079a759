/**
 * Files that others read, written atomically (temp file + fsync + rename), and
 * files that others can write, read without following symlinks. The upgrade runs
 * as root on a directory a container can write, so both matter.
 */
import { constants, promises as fsp } from "node:fs";
import { basename, dirname, join } from "node:path";
import { UnsafePathError } from "../core/mod.ts";

/** Options for `writeFileAtomic`. */
export interface AtomicWriteOptions {
  /**
   * The file's mode. Without it an existing file keeps its permission bits
   * (never setuid/setgid/sticky) and a new one gets 0o644.
   */
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
 * directory. Refuses (and leaves untouched) a path that is a symlink. The temp
 * file is created with O_EXCL|O_NOFOLLOW and its mode set through its own
 * descriptor, so nothing another user can rename into the directory is ever
 * followed, chmod-ed or written.
 */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  options: AtomicWriteOptions = {},
): Promise<void> {
  const existing = await assertRegularOrMissing(path);
  const mode = options.mode ?? (existing?.mode != null ? existing.mode & 0o777 : 0o644);
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.tmp-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`);
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const handle = await fsp.open(
    tmp,
    constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
    0o600,
  );
  try {
    await handle.chmod(mode);
    await handle.writeFile(bytes);
    await handle.sync();
  } catch (err) {
    await handle.close().catch(() => {});
    await Deno.remove(tmp).catch(() => {});
    throw err;
  }
  await handle.close();
  try {
    await Deno.rename(tmp, path);
  } catch (err) {
    await Deno.remove(tmp).catch(() => {});
    throw err;
  }
  await syncDir(dir);
}

/** True for "no space left on device" (and the quota twin). */
export function isNoSpace(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code;
  return code === "ENOSPC" || code === "EDQUOT" ||
    (err instanceof Error && /No space left on device|Disk quota exceeded/.test(err.message));
}

/**
 * The last resort when a full filesystem refuses the temp file: truncate and
 * rewrite the existing regular file in place (its own blocks are freed first).
 * Not atomic: only for a file whose readers retry a torn read (the UI's status
 * poll). Never creates a file and never follows a symlink (O_NOFOLLOW).
 */
export async function rewriteInPlace(path: string, data: string): Promise<void> {
  const handle = await fsp.open(path, constants.O_WRONLY | constants.O_NOFOLLOW);
  try {
    if (!(await handle.stat()).isFile()) {
      throw new UnsafePathError(`${path}: is not a regular file`);
    }
    await handle.truncate(0);
    await handle.writeFile(new TextEncoder().encode(data));
    await handle.sync();
  } finally {
    await handle.close();
  }
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
 * Reads a file that an untrusted writer may control: opened with O_NOFOLLOW and
 * O_NONBLOCK (a symlink is refused, a FIFO cannot block), then checked through
 * the descriptor: a regular file of at most `maxBytes`. Returns null when the
 * file does not exist.
 */
export async function readFileSafe(path: string, options: SafeReadOptions): Promise<string | null> {
  let handle: fsp.FileHandle;
  try {
    handle = await fsp.open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === "ENOENT") return null;
    if (code === "ELOOP") throw new UnsafePathError(`${path}: is a symlink; refusing to follow it`);
    throw err;
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new UnsafePathError(`${path}: is not a regular file`);
    if (info.size > options.maxBytes) {
      throw new UnsafePathError(
        `${path}: is ${info.size} bytes, more than the ${options.maxBytes} allowed`,
      );
    }
    const buf = new Uint8Array(options.maxBytes + 1);
    let n = 0;
    while (n < buf.length) {
      const { bytesRead } = await handle.read(buf, n, buf.length - n, null);
      if (bytesRead === 0) break;
      n += bytesRead;
    }
    if (n > options.maxBytes) {
      throw new UnsafePathError(`${path}: grew past the ${options.maxBytes} bytes allowed`);
    }
    return new TextDecoder().decode(buf.subarray(0, n));
  } finally {
    await handle.close();
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
