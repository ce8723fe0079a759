/**
 * Test helpers for evaluating the project's Nix with `nix-instantiate` (Debian's
 * nix-bin) and nixpkgs' real lib from `../shared/nixpkgs-lib` beside the checkout
 * (or `$GRAPHEON_NIXPKGS_LIB`). When either is missing the Nix tests are
 * ignored and say why, except under CI=true, where that is an error.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { run } from "../../lib/host/exec.ts";

/** The repository root. */
export const REPO = fileURLToPath(new URL("../../", import.meta.url));

/** nixpkgs' lib directory: `../shared/nixpkgs-lib/lib` beside the checkout. */
export const NIXPKGS_LIB = Deno.env.get("GRAPHEON_NIXPKGS_LIB") ??
  join(REPO, "..", "shared", "nixpkgs-lib", "lib");

async function haveNix(): Promise<boolean> {
  try {
    return (await run(["nix-instantiate", "--version"], { timeoutMs: 10_000 })).code === 0;
  } catch {
    return false;
  }
}

async function whyNot(): Promise<string | null> {
  if (!(await haveNix())) return "nix-instantiate is missing: run scripts/setup.sh";
  const lib = await Deno.stat(join(NIXPKGS_LIB, "default.nix")).then(() => true, () => false);
  if (!lib) {
    return `nixpkgs' lib is not at ${NIXPKGS_LIB} (../shared/nixpkgs-lib beside the checkout)`;
  }
  return null;
}

/** Why the Nix tests cannot run here, or null. Throws under CI=true. */
export const nixUnavailable: string | null = await whyNot();
if (nixUnavailable && Deno.env.get("CI") === "true") {
  throw new Error(`${nixUnavailable} (CI=true)`);
}
if (nixUnavailable) console.error(`tests/nix: ignored: ${nixUnavailable}`);

/** Deno.test that is ignored (and says why, above) when Nix cannot run. */
export function nixTest(name: string, fn: () => Promise<void>): void {
  Deno.test({ name, ignore: nixUnavailable !== null, fn });
}

/**
 * `nix-instantiate --eval --strict --json ARGS` in the repo, with nixpkgs' lib
 * passed as `nixpkgsLib` when `withLib`; rejects with Nix's error.
 */
export async function nixEval(args: string[], options: { withLib?: boolean } = {}) {
  const lib = options.withLib ?? true ? ["--arg", "nixpkgsLib", NIXPKGS_LIB] : [];
  const r = await run(["nix-instantiate", "--eval", "--strict", "--json", ...args, ...lib], {
    timeoutMs: 60_000,
    cwd: REPO,
  });
  if (r.code !== 0) throw new Error(`nix-instantiate ${args.join(" ")}: ${r.stderr.trim()}`);
  return JSON.parse(r.stdout) as unknown;
}

/** Runs `fn` with a fresh temporary directory, removed afterwards. */
export async function withTemp<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "grapheon-nix-" });
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** What tests/nix/eval_module.nix returns. */
export interface ModuleEval {
  /** services.grapheon as evaluated (package as its store path). */
  cfg: Record<string, unknown>;
  /** virtualisation.podman.package's path. */
  podman: string;
  /** pkgs.runtimeShell. */
  sh: string;
  /** The NixOS options the module sets, as evaluated. */
  config: {
    systemd: {
      units: Record<string, { text: string | null; wantedBy: string[] }>;
      tmpfiles: { rules: string[] };
    };
    environment: {
      etc: Record<
        string,
        {
          target: string;
          source: { name: string; json: string; buildCommand: string; passAsFile: string[] };
        }
      >;
      systemPackages: string[];
    };
    networking: {
      firewall: {
        allowedTCPPorts: number[];
        interfaces: Record<string, { allowedTCPPorts: number[] }>;
      };
    };
    virtualisation: { podman: { enable: boolean } };
  };
  /** system.build.toplevel's path (forces everything). */
  toplevel: string;
}

/** Options of evalModule. */
export interface EvalModuleOptions {
  /** Nix source of a list of further modules (`[ ({ lib, ... }: { … }) … ]`). */
  modules?: string;
  /** Programs from a real host's prefix (`/usr`) instead of the store (stub_pkgs.nix). */
  hostPrefix?: string;
}

/** Evaluates nix/module.nix through tests/nix/eval_module.nix with `values` for services.grapheon. */
export function evalModule(
  values: Record<string, unknown>,
  options: EvalModuleOptions = {},
): Promise<ModuleEval> {
  return withTemp(async (dir) => {
    const file = join(dir, "values.json");
    await Deno.writeTextFile(file, JSON.stringify(values));
    const args = ["tests/nix/eval_module.nix", "--argstr", "valuesFile", file];
    if (options.modules !== undefined) {
      const mods = join(dir, "modules.nix");
      await Deno.writeTextFile(mods, options.modules);
      args.push("--arg", "modulesFile", mods);
    }
    if (options.hostPrefix) args.push("--argstr", "hostPrefix", options.hostPrefix);
    return await nixEval(args) as ModuleEval;
  });
}
