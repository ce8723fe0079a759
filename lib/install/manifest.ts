/**
 * The install manifest: what `grapheon-tool install` wrote (files with their
 * hashes, directories it created, files it replaced and saved, units it
 * enabled), so that `uninstall` removes exactly that and nothing else. Kept as
 * JSON under the state dir, written atomically.
 */
import { join } from "node:path";
import { z } from "zod";
import { InputError, parseJson } from "../core/mod.ts";
import { readFileSafe, writeFileAtomic } from "../host/mod.ts";

/** File name of the manifest inside the state dir. */
export const MANIFEST_FILE = "install-manifest.json";

const hostPath = z.string().regex(/^\//, "expected an absolute path");

/** One file the installer wrote. */
export const manifestFileSchema = z.strictObject({
  /** Path on the host (without any --root prefix). */
  path: hostPath,
  /** What it is: binaries and units are always removed; config and env file only if unchanged. */
  kind: z.enum(["binary", "unit", "config", "envFile"]),
  /** sha256 (hex) of the content written. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  /** Where the file that was there before (not ours) was saved; restored on uninstall. */
  backup: hostPath.optional(),
});

/** The manifest schema. */
export const manifestSchema = z.strictObject({
  version: z.literal(1),
  /** grapheon-tool version that wrote it last. */
  tool: z.string(),
  /** When it was last written (ISO 8601). */
  updatedAt: z.string(),
  files: z.array(manifestFileSchema),
  /** Directories the installer created (removed on uninstall when empty), parents first. */
  dirs: z.array(hostPath),
  /** Units the installer enabled. */
  enabled: z.array(z.string()),
});

/** The manifest. */
export type Manifest = z.infer<typeof manifestSchema>;
/** One file entry of the manifest. */
export type ManifestFile = z.infer<typeof manifestFileSchema>;

/** An empty manifest. */
export function emptyManifest(tool: string): Manifest {
  return { version: 1, tool, updatedAt: "", files: [], dirs: [], enabled: [] };
}

/** Where the manifest lives for a state dir, under `root`. */
export function manifestPath(root: string, stateDir: string): string {
  return join(root, stateDir, MANIFEST_FILE);
}

/** Reads the manifest; null when there is none; InputError naming the file when it is bad. */
export async function readManifest(path: string): Promise<Manifest | null> {
  const text = await readFileSafe(path, { maxBytes: 1_000_000 });
  if (text === null) return null;
  const parsed = parseJson(manifestSchema, text, path);
  if (!parsed.ok) throw new InputError(parsed.error);
  return parsed.value;
}

/** Writes the manifest atomically (mode 0600). */
export async function writeManifest(path: string, manifest: Manifest): Promise<void> {
  await writeFileAtomic(path, JSON.stringify(manifest, null, 2) + "\n", { mode: 0o600 });
}

/** sha256 of bytes or text, in hex. */
export async function sha256Hex(data: string | Uint8Array): Promise<string> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}
