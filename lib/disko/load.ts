/**
 * Reads a layout: a `.nix` file (evaluated through Nix) or the JSON of the
 * evaluated `disko.devices` (also accepted wrapped as `{ "disko": { "devices":
 * … } }`). NixOS module properties that survive evaluation (`lib.mkDefault`,
 * `lib.mkForce`, `lib.mkIf`, `lib.mkMerge`) are resolved the way the module
 * system would for a single definition. Errors name the file and the field.
 */
import { describeIssues } from "../config/config.ts";
import { errorMessage, InputError } from "../core/errors.ts";
import { buildModel } from "./build_model.ts";
import type { LayoutModel } from "./model.ts";
import { evalDiskoNix, type NixEvalOptions } from "./nix_eval.ts";
import { type Devices, devicesSchema } from "./schema.ts";

/** Largest layout file read (a layout is a few kilobytes). */
const MAX_BYTES = 4 * 2 ** 20;

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Resolves module-system wrappers (`_type` override/if/merge/order) in evaluated JSON. */
export function unwrapModuleProperties(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(unwrapModuleProperties).filter((v) => v !== SKIP);
  if (!value || typeof value !== "object") return value;
  const obj = value as Record<string, unknown>;
  switch (obj._type) {
    case "override":
    case "order":
      return unwrapModuleProperties(obj.content);
    case "if":
      return obj.condition === true ? unwrapModuleProperties(obj.content) : SKIP;
    case "merge": {
      const parts = (Array.isArray(obj.contents) ? obj.contents : [])
        .map(unwrapModuleProperties)
        .filter((v) => v !== SKIP);
      return parts.reduce((acc: unknown, part) => deepMerge(acc, part), {});
    }
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    const u = unwrapModuleProperties(v);
    if (u !== SKIP) out[k] = u;
  }
  return out;
}

const SKIP = Symbol("skip");

function deepMerge(a: unknown, b: unknown): unknown {
  const isObj = (v: unknown) => v !== null && typeof v === "object" && !Array.isArray(v);
  if (!isObj(a) || !isObj(b)) return Array.isArray(a) && Array.isArray(b) ? [...a, ...b] : b;
  const out: Record<string, unknown> = { ...(a as Record<string, unknown>) };
  for (const [k, v] of Object.entries(b as Record<string, unknown>)) {
    out[k] = k in out ? deepMerge(out[k], v) : v;
  }
  return out;
}

/** Validates evaluated JSON as `disko.devices`; InputError naming `source` and the field. */
export function parseDevices(raw: unknown, source: string): Devices {
  let value = unwrapModuleProperties(raw);
  if (value && typeof value === "object" && "disko" in value) {
    const disko = (value as { disko: unknown }).disko;
    if (disko && typeof disko === "object" && "devices" in disko) {
      value = (disko as { devices: unknown }).devices;
    }
  }
  const result = devicesSchema.safeParse(value);
  if (!result.success) throw new InputError(`${source}: ${describeIssues(result.error)}`);
  return result.data;
}

/** Parses layout JSON text; InputError naming `source`. */
export function parseLayoutJson(text: string, source: string): Devices {
  let raw: Json;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new InputError(`${source}: not valid JSON: ${errorMessage(err)}`);
  }
  return parseDevices(raw, source);
}

/** How to read layout files. */
export interface LoadOptions {
  /** Nix programs and runner, for `.nix` files. */
  nix: NixEvalOptions;
}

/** Reads `file` (`.nix` through Nix, anything else as JSON) and builds its model. */
export async function loadLayout(file: string, options: LoadOptions): Promise<LayoutModel> {
  if (file.endsWith(".nix")) {
    await statOrThrow(file);
    return buildModel(parseDevices(await evalDiskoNix(file, options.nix), file));
  }
  const info = await statOrThrow(file);
  if (info.isFile && info.size > MAX_BYTES) {
    throw new InputError(`${file}: is ${info.size} bytes; not a layout`);
  }
  return buildModel(parseLayoutJson(await Deno.readTextFile(file), file));
}

async function statOrThrow(file: string): Promise<Deno.FileInfo> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(file);
  } catch (err) {
    throw new InputError(`${file}: cannot read layout: ${errorMessage(err)}`);
  }
  if (info.isDirectory) throw new InputError(`${file}: is a directory, not a layout`);
  return info;
}
