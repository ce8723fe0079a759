/**
 * Free space of a filesystem, through `df` (an argv, never a shell): the disk
 * where podman keeps images must hold two more releases during an upgrade.
 */
import { dirname } from "node:path";
import { type Runner, tail } from "./exec.ts";
import { lstatOrNull } from "./files.ts";

/** Free and total bytes. */
export interface DiskSpace {
  /** Bytes available to unprivileged writers. */
  availBytes: number;
  /** Filesystem size. */
  sizeBytes: number;
}

/** Parses `df --output=avail,size -B1 PATH` (header line, then one line of numbers); null if odd. */
export function parseDf(stdout: string): DiskSpace | null {
  const lines = stdout.trim().split("\n").map((l) => l.trim()).filter(Boolean);
  const values = lines.at(-1)?.split(/\s+/) ?? [];
  if (lines.length < 2 || values.length < 2 || !values.every((v) => /^\d+$/.test(v))) return null;
  return { availBytes: Number(values[0]), sizeBytes: Number(values[1]) };
}

/** The path itself if it exists, else its nearest existing parent (df needs an existing path). */
export async function existingAncestor(path: string): Promise<string> {
  let p = path;
  while (p !== "/" && !(await lstatOrNull(p).catch(() => null))) p = dirname(p);
  return p;
}

/** Runs df on `path` (or its nearest existing parent); throws an Error with df's words. */
export async function diskSpace(
  runner: Runner,
  options: { df: string; path: string },
): Promise<DiskSpace & { path: string }> {
  const path = await existingAncestor(options.path);
  const r = await runner([options.df, "--output=avail,size", "-B1", path], { timeoutMs: 15_000 });
  if (r.code !== 0) throw new Error(`${options.df} exited ${r.code}: ${tail(r.stderr)}`);
  const parsed = parseDf(r.stdout);
  if (!parsed) throw new Error(`unexpected ${options.df} output: ${tail(r.stdout, 2)}`);
  return { ...parsed, path };
}
