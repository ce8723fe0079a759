/**
 * Where disko and nixpkgs' lib are, from the command line or the environment:
 * `--disko PATH` / `$GRAPHEON_DISKO` (a disko checkout: `lib/default.nix`),
 * `--nixpkgs-lib PATH` / `$GRAPHEON_NIXPKGS_LIB` (nixpkgs' `lib` directory, or
 * a nixpkgs checkout holding it). Unset, the evaluation looks for `<disko>` and
 * `<nixpkgs/lib>` on the Nix search path. A path that holds neither is a usage
 * error naming the flag or variable, before Nix runs.
 */
import { join } from "node:path";
import { UsageError } from "../core/errors.ts";

/** The environment variable naming disko's directory. */
export const DISKO_DIR_ENV = "GRAPHEON_DISKO";
/** The environment variable naming nixpkgs' lib directory. */
export const NIXPKGS_LIB_ENV = "GRAPHEON_NIXPKGS_LIB";

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/** The directories for the evaluation; `flags` win over `env`. */
export function evalDirs(
  flags: { disko?: string; nixpkgsLib?: string },
  env: (name: string) => string | undefined,
): { disko?: string; nixpkgsLib?: string } {
  const out: { disko?: string; nixpkgsLib?: string } = {};
  const disko = flags.disko ?? (env(DISKO_DIR_ENV) || undefined);
  const where = (flag: string, envName: string, given?: string) =>
    given !== undefined ? `--${flag}` : `$${envName}`;
  if (disko !== undefined) {
    if (!isFile(join(disko, "lib", "default.nix"))) {
      throw new UsageError(
        `${
          where("disko", DISKO_DIR_ENV, flags.disko)
        } ${disko}: not a disko checkout (no lib/default.nix)`,
      );
    }
    out.disko = disko;
  }
  const lib = flags.nixpkgsLib ?? (env(NIXPKGS_LIB_ENV) || undefined);
  if (lib !== undefined) {
    if (isFile(join(lib, "lib", "default.nix")) && isFile(join(lib, "lib", "modules.nix"))) {
      out.nixpkgsLib = join(lib, "lib");
    } else if (isFile(join(lib, "default.nix")) && isFile(join(lib, "modules.nix"))) {
      out.nixpkgsLib = lib;
    } else {
      throw new UsageError(
        `${
          where("nixpkgs-lib", NIXPKGS_LIB_ENV, flags.nixpkgsLib)
        } ${lib}: not nixpkgs' lib directory (no default.nix and modules.nix there or in lib/)`,
      );
    }
  }
  return out;
}
