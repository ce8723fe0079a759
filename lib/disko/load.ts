/**
 * Reads a layout from where it is: a `.nix` file (evaluated through Nix, with
 * disko's own types when disko is available), a flake's NixOS configuration
 * (`--flake`), a layout document (`disko eval`'s output, the guard's
 * /etc/grapheon/disko.json) or plain JSON of `disko.devices` (also accepted
 * wrapped as `{ "disko": { "devices": … } }`). Every result says who evaluated
 * it, because the defaults the rules see are disko's own only when disko did.
 * Errors name the file (or flake) and the field.
 */
import { describeIssues } from "../config/config.ts";
import { errorMessage, InputError } from "../core/errors.ts";
import { buildModel } from "./build_model.ts";
import { evalFlake, type FlakeRef } from "./flake_eval.ts";
import type { LayoutModel } from "./model.ts";
import { evalDiskoNix, type NixEvalOptions } from "./nix_eval.ts";
import type { SystemRoot } from "./rules_mounts.ts";
import { type Devices, devicesSchema } from "./schema.ts";

/** Largest layout file read (a layout is a few kilobytes; an evaluated one some hundred). */
const MAX_BYTES = 4 * 2 ** 20;

/** How the layout was evaluated. */
export interface Evaluation {
  /** disko's own option types; plain Nix; or nobody (JSON as written). */
  by: "disko" | "nix" | "none";
  /** A `.nix` file, a flake, a recorded layout document, or plain JSON. */
  via: "nix-file" | "flake" | "document" | "json";
  /** disko's version, when known. */
  diskoVersion: string | null;
}

/** A layout read and modelled. */
export interface LoadedLayout {
  /** The file or `REF#NAME`. */
  source: string;
  /** Who evaluated it. */
  evaluation: Evaluation;
  /** The JSON of `disko.devices` as evaluated (internal attributes stripped). */
  raw: unknown;
  /** The model the rules run on. */
  model: LayoutModel;
  /** What the NixOS configuration mounts at / (`--flake` only). */
  systemRoot?: SystemRoot;
}

/** Where a layout comes from. */
export type LayoutInput = { kind: "file"; path: string } | { kind: "flake"; flake: FlakeRef };

/** The layout document `disko eval` prints and the guard installs. */
export interface LayoutDocument {
  /** Who evaluated the layout. */
  evaluatedBy: "disko" | "nix";
  /** disko's version, when known. */
  diskoVersion: string | null;
  /** The evaluated layout. */
  disko: { devices: unknown };
}

/** Validates evaluated JSON as `disko.devices`; InputError naming `source` and the field. */
export function parseDevices(raw: unknown, source: string): Devices {
  const result = devicesSchema.safeParse(raw);
  if (!result.success) throw new InputError(`${source}: ${describeIssues(result.error)}`);
  return result.data;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** Splits JSON input into the devices and who evaluated them (a document says so). */
export function readJsonLayout(
  value: unknown,
  source: string,
): { devices: unknown; evaluation: Evaluation } {
  const wrapped = isObject(value) && isObject(value.disko) && "devices" in value.disko
    ? value.disko.devices
    : undefined;
  if (isObject(value) && "evaluatedBy" in value) {
    const by = value.evaluatedBy;
    if ((by !== "disko" && by !== "nix") || wrapped === undefined) {
      throw new InputError(
        `${source}: field evaluatedBy: a layout document has evaluatedBy "disko" or "nix" and disko.devices`,
      );
    }
    const version = typeof value.diskoVersion === "string" ? value.diskoVersion : null;
    return { devices: wrapped, evaluation: { by, via: "document", diskoVersion: version } };
  }
  return {
    devices: wrapped ?? value,
    evaluation: { by: "none", via: "json", diskoVersion: null },
  };
}

/** Parses layout JSON text; InputError naming `source`. */
export function parseLayoutJson(text: string, source: string): LoadedLayout {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new InputError(`${source}: not valid JSON: ${errorMessage(err)}`);
  }
  const { devices, evaluation } = readJsonLayout(raw, source);
  return { source, evaluation, raw: devices, model: buildModel(parseDevices(devices, source)) };
}

/** How to read layouts. */
export interface LoadOptions {
  /** Nix programs, runner, disko and nixpkgs' lib. */
  nix: NixEvalOptions;
}

/** Reads a layout from a file (`.nix` through Nix, anything else as JSON) or a flake. */
export async function loadLayout(input: LayoutInput, options: LoadOptions): Promise<LoadedLayout> {
  if (input.kind === "flake") {
    const ev = await evalFlake(input.flake, options.nix);
    const source = input.flake.text;
    return {
      source,
      evaluation: { by: "disko", via: "flake", diskoVersion: ev.diskoVersion },
      raw: ev.devices,
      model: buildModel(parseDevices(ev.devices, source)),
      systemRoot: ev.systemRoot,
    };
  }
  const file = input.path;
  const info = await statOrThrow(file);
  if (file.endsWith(".nix")) {
    const ev = await evalDiskoNix(file, options.nix);
    return {
      source: file,
      evaluation: { by: ev.evaluatedBy, via: "nix-file", diskoVersion: ev.diskoVersion },
      raw: ev.devices,
      model: buildModel(parseDevices(ev.devices, file)),
    };
  }
  if (info.isFile && info.size > MAX_BYTES) {
    throw new InputError(`${file}: is ${info.size} bytes; not a layout`);
  }
  return parseLayoutJson(await Deno.readTextFile(file), file);
}

/** The document `disko eval` prints for an evaluated layout (what the guard installs). */
export function layoutDocument(layout: LoadedLayout): LayoutDocument {
  const by = layout.evaluation.by;
  if (by === "none") {
    throw new InputError(`${layout.source}: is plain JSON, not evaluated by Nix or disko`);
  }
  return {
    evaluatedBy: by,
    diskoVersion: layout.evaluation.diskoVersion,
    disko: { devices: layout.raw },
  };
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
