/**
 * What the Nix tests need: `nix-instantiate`/`nix` (Debian's nix-bin) and
 * `../shared` beside the repository (disko and nixpkgs' lib, see their
 * READMEs). Without them the tests are skipped with a message, except under
 * CI=true, where they run and fail.
 */
import { join } from "node:path";
import { run, type Runner } from "../../lib/host/exec.ts";
import type { NixEvalOptions } from "../../lib/disko/nix_eval.ts";
import { REPO_ROOT } from "../util/cli.ts";

/** `../shared` beside the repository. */
export const SHARED = join(REPO_ROOT, "..", "shared");
/** nix-community/disko (README: commit 878ec37, 38 example layouts). */
export const DISKO_DIR = join(SHARED, "disko");
/** nixpkgs' lib directory. */
export const NIXPKGS_LIB = join(SHARED, "nixpkgs-lib", "lib");
/** disko's example layouts. */
export const DISKO_EXAMPLES = join(DISKO_DIR, "example");

async function installed(program: string): Promise<boolean> {
  try {
    return (await new Deno.Command(program, {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    }).output()).success;
  } catch {
    return false;
  }
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** nix-instantiate is installed. */
export const HAVE_NIX = await installed("nix-instantiate");
/** ../shared holds disko and nixpkgs' lib. */
export const HAVE_SHARED = exists(join(DISKO_DIR, "lib", "default.nix")) &&
  exists(join(NIXPKGS_LIB, "default.nix"));
const IN_CI = Deno.env.get("CI") === "true";

const warned = new Set<string>();
function skipping(file: string, what: string): void {
  if (warned.has(file + what)) return;
  warned.add(file + what);
  console.warn(
    IN_CI
      ? `${file}: ${what} is missing but CI=true: the tests run and fail`
      : `${file}: SKIPPING tests that need ${what}`,
  );
}

/** A test that needs Nix (and `../shared` with `shared: true`): skipped without, except under CI. */
export function nixTest(
  name: string,
  fn: () => Promise<void>,
  options: { shared?: boolean; file?: string } = {},
): void {
  const file = options.file ?? "tests/disko";
  if (!HAVE_NIX) skipping(file, "nix-instantiate (apt install nix-bin)");
  if (options.shared && !HAVE_SHARED) skipping(file, `${SHARED} (disko, nixpkgs-lib)`);
  const ready = HAVE_NIX && (!options.shared || HAVE_SHARED);
  Deno.test({ name: `nix: ${name}`, ignore: !ready && !IN_CI, fn });
}

/** The real runner with an empty NIX_PATH, so the host's channels cannot change results. */
export const isolated: Runner = (argv, options = {}) =>
  run(argv, { ...options, env: { NIX_PATH: "", ...options.env } });

/** Evaluation options: isolated, plain Nix unless `extra` names disko and lib. */
export function nixOptions(extra: Partial<NixEvalOptions> = {}): NixEvalOptions {
  return { runner: isolated, nixInstantiate: "nix-instantiate", nix: "nix", ...extra };
}

/** Evaluation options with ../shared's disko and nixpkgs lib. */
export function diskoOptions(extra: Partial<NixEvalOptions> = {}): NixEvalOptions {
  return nixOptions({ disko: DISKO_DIR, nixpkgsLib: NIXPKGS_LIB, ...extra });
}

/** A temp dir with files; removed after `fn`. */
export async function withFiles(
  files: Record<string, string>,
  fn: (dir: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "disko-nix-" });
  try {
    for (const [name, text] of Object.entries(files)) {
      await Deno.mkdir(join(dir, name, ".."), { recursive: true });
      await Deno.writeTextFile(join(dir, name), text);
    }
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
