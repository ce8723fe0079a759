/**
 * The installer's file work: what each file should contain, how that compares
 * with the disk (create, update with a diff, unchanged, kept), and applying it
 * under a root directory with atomic writes, saving any foreign file it
 * replaces. `planFile` decides; `readCurrent`, `applyFile`, `ensureDirs` act.
 */
import { dirname, join } from "node:path";
import { formatDiff } from "./line_diff.ts";
import { assertRegularOrMissing, writeFileAtomic } from "../host/mod.ts";
import { type ManifestFile, sha256Hex } from "./manifest.ts";
import { type Config, configPath, defaultConfig, parseConfig } from "../config/mod.ts";
import { ConfigError, errorMessage } from "../core/mod.ts";

/** A file the installer wants on the host. */
export interface DesiredFile {
  /** Host path (without the --root prefix). */
  path: string;
  /** Manifest kind. */
  kind: ManifestFile["kind"];
  /** Content. */
  bytes: Uint8Array;
  /** Mode for a new file. */
  mode: number;
  /** Write only when absent (config, env file): an existing file is the operator's. */
  onlyIfMissing?: boolean;
  /** Text content, when a diff makes sense (units, launcher, config). */
  text?: string;
}

/** What the installer does with one file. */
export type FileAction = "create" | "update" | "unchanged" | "kept";

/** A desired file with the decision taken for it. */
export interface PlannedFile extends DesiredFile {
  /** The decision. */
  action: FileAction;
  /** Line diff for `update` of a text file. */
  diff?: string;
  /** sha256 of `bytes`. */
  sha256: string;
  /** The current file was written by an earlier install (it is in the manifest). */
  owned: boolean;
}

/** Decides what to do with one file, given its current bytes (null: absent). */
export async function planFile(
  desired: DesiredFile,
  current: Uint8Array | null,
  owned: boolean,
): Promise<PlannedFile> {
  const sha256 = await sha256Hex(desired.bytes);
  const base = { ...desired, sha256, owned };
  if (current === null) return { ...base, action: "create" };
  if (desired.onlyIfMissing) return { ...base, action: "kept" };
  if ((await sha256Hex(current)) === sha256) return { ...base, action: "unchanged" };
  const diff = desired.text !== undefined
    ? formatDiff(new TextDecoder().decode(current), desired.text)
    : undefined;
  return { ...base, action: "update", diff };
}

/** The current bytes of `root`+`path` (null when absent); refuses a symlink or non-file. */
export async function readCurrent(root: string, path: string): Promise<Uint8Array | null> {
  const full = join(root, path);
  const info = await assertRegularOrMissing(full);
  return info ? await Deno.readFile(full) : null;
}

/**
 * Creates `path` (a host dir) and missing parents under `root`; returns the
 * host dirs it created, parents first.
 */
export async function ensureDirs(root: string, path: string, mode = 0o755): Promise<string[]> {
  const missing: string[] = [];
  for (let p = path; p !== "/" && p !== "."; p = dirname(p)) {
    try {
      await Deno.lstat(join(root, p));
      break;
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
      missing.unshift(p);
    }
  }
  for (const p of missing) await Deno.mkdir(join(root, p), { mode });
  return missing;
}

/** Where a replaced foreign file is saved: `<stateDir>/install-backup/<path with _>`. */
export function backupPath(stateDir: string, path: string): string {
  return join(stateDir, "install-backup", path.replace(/^\//, "").replaceAll("/", "_"));
}

/**
 * Saves the current file of a planned `update` that no earlier install wrote to
 * `backup` (a host path) under `root`, so that uninstall can put it back.
 * Returns the backup path, or undefined when there is nothing to save.
 */
export async function saveForeign(
  root: string,
  file: PlannedFile,
  backup: string,
): Promise<string | undefined> {
  if (file.action !== "update" || file.owned) return undefined;
  await ensureDirs(root, dirname(backup), 0o700);
  await Deno.copyFile(join(root, file.path), join(root, backup));
  return backup;
}

/** Writes a planned `create`/`update` under `root` atomically, with its mode. */
export async function writePlanned(root: string, file: PlannedFile): Promise<void> {
  if (file.action !== "create" && file.action !== "update") return;
  await writeFileAtomic(join(root, file.path), file.bytes, { mode: file.mode });
  if (file.action === "update") await Deno.chmod(join(root, file.path), file.mode);
}

/**
 * Absolute path of a program for a unit file: itself when absolute, else the
 * first `dir/name` that exists under `root` for the dirs of $PATH and the usual
 * system dirs; null when none does.
 */
export async function resolveProgram(root: string, name: string): Promise<string | null> {
  if (name.startsWith("/")) return name;
  const dirs = [
    ...(Deno.env.get("PATH") ?? "").split(":").filter((d) => d.startsWith("/")),
    "/usr/local/bin",
    "/usr/bin",
    "/bin",
    "/run/current-system/sw/bin",
  ];
  for (const dir of dirs) {
    const info = await Deno.stat(join(root, dir, name)).catch(() => null);
    if (info?.isFile && (info.mode ?? 0) & 0o111) return join(dir, name);
  }
  return null;
}

/**
 * The config as seen on the target: the config file (`--config`,
 * $GRAPHEON_TOOL_CONFIG or the default path) read under `root`. A missing
 * default file means the defaults (`found` false); a missing named file is an error.
 */
export async function loadTargetConfig(
  root: string,
  flag: string | undefined,
): Promise<{ config: Config; path: string; found: boolean }> {
  const { path, explicit } = configPath(flag);
  const full = join(root, path);
  let text: string;
  try {
    text = await Deno.readTextFile(full);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound && !explicit) {
      return { config: defaultConfig(), path, found: false };
    }
    throw new ConfigError(`${full}: cannot read config: ${errorMessage(err)}`);
  }
  return { config: parseConfig(text, full), path, found: true };
}
