/**
 * `--flake REF#NAME`: the layout of a NixOS configuration in a flake, as that
 * configuration's own disko evaluates it: `nix eval --json` of
 * `nixosConfigurations.NAME` with STRIP_EXPR applied to `config.disko.devices`
 * (disko's internal attributes hold functions and scripts). The same run reads
 * whether the configuration mounts anything at `/` (fileSystems."/"), so a
 * layout whose root is declared elsewhere is judged with the whole system.
 * Never writes the flake's lock file.
 */
import { InputError, UsageError } from "../core/errors.ts";
import { type NixEvalOptions, type NixEvaluation, runNixJson } from "./nix_eval.ts";
import { STRIP_EXPR } from "./nix_expr.ts";
import type { SystemRoot } from "./rules_mounts.ts";

/** A parsed `REF#NAME`. */
export interface FlakeRef {
  /** The flake reference (`.`, `github:o/r`, `git+file:.?rev=…`). */
  ref: string;
  /** The NixOS configuration's name under `nixosConfigurations`. */
  name: string;
  /** As given. */
  text: string;
}

/** A NixOS configuration name: what a host name can be, so quoting it for Nix is safe. */
const NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9_-]*$/;

/** Parses `REF#NAME`; UsageError naming `--flake` on a bad value. */
export function parseFlakeRef(text: string): FlakeRef {
  const hash = text.lastIndexOf("#");
  const ref = hash < 0 ? text : text.slice(0, hash);
  const name = hash < 0 ? "" : text.slice(hash + 1);
  if (!ref || ref.startsWith("-") || /\s/.test(ref)) {
    throw new UsageError(`--flake: expected REF#NAME such as .#vps, got "${text.slice(0, 80)}"`);
  }
  if (!NAME_RE.test(name)) {
    throw new UsageError(
      `--flake: "${
        text.slice(0, 80)
      }" names no NixOS configuration: expected REF#NAME (nixosConfigurations.NAME), NAME of letters, digits, - and _`,
    );
  }
  return { ref, name, text };
}

/** Applied to `nixosConfigurations.NAME`: the stripped devices and what is mounted at /. */
const APPLY_EXPR = `system: let
  c = system.config or { };
  strip = ${STRIP_EXPR.replaceAll("\n", "\n  ")};
  fs = c.fileSystems or null;
  hasDisko = c ? disko && c.disko ? devices;
in {
  devices = if hasDisko then strip c.disko.devices else null;
  rootKnown = fs != null;
  root = if fs != null && fs ? "/" then { fsType = fs."/".fsType or null; } else null;
}`;

/** A flake's layout after Nix. */
export interface FlakeEvaluation extends NixEvaluation {
  /** What the configuration mounts at / (null: nothing; undefined: the configuration has no fileSystems). */
  systemRoot: SystemRoot | undefined;
}

/** Evaluates the layout of `flake` with the flake's own disko. */
export async function evalFlake(
  flake: FlakeRef,
  options: NixEvalOptions,
): Promise<FlakeEvaluation> {
  const installable = `${flake.ref}#nixosConfigurations.${JSON.stringify(flake.name)}`;
  const raw = await runNixJson({
    source: flake.text,
    env: {},
    timeoutMs: options.timeoutMs ?? 300_000,
    attempts: [[
      options.nix,
      "--extra-experimental-features",
      "nix-command flakes",
      "eval",
      "--json",
      "--no-write-lock-file",
      installable,
      "--apply",
      APPLY_EXPR,
    ]],
  }, options.runner) as {
    devices?: unknown;
    rootKnown?: boolean;
    root?: { fsType?: string | null } | null;
  };
  if (raw.devices === null || raw.devices === undefined) {
    throw new InputError(
      `${flake.text}: the NixOS configuration has no disko.devices; import disko's NixOS module (disko.nixosModules.disko) and the layout`,
    );
  }
  return {
    evaluatedBy: "disko",
    diskoVersion: null,
    devices: raw.devices,
    systemRoot: raw.rootKnown ? (raw.root ? { fsType: raw.root.fsType ?? null } : null) : undefined,
  };
}
