/**
 * Evaluates a `disko.nix` to the JSON of its `disko.devices` with
 * `nix-instantiate --eval --strict --json` (or `nix eval` when only the new CLI
 * is installed), through the command runner. The file path reaches Nix in an
 * environment variable, never inside Nix source, so no path can inject code.
 *
 * A file that is a function gets only what it asks for and what can honestly
 * be given: nixpkgs' `lib` when `<nixpkgs>` resolves (NIX_PATH or `-I`);
 * arguments with defaults keep them; anything else is a clear error. There is
 * no stand-in `lib`: a partial imitation would evaluate some layouts
 * differently from the real one.
 */
import { resolve } from "node:path";
import { CommandError, InputError } from "../core/errors.ts";
import type { Runner } from "../host/exec.ts";

/** Where the programs are and how to call them. */
export interface NixEvalOptions {
  /** The command runner. */
  runner: Runner;
  /** `nix-instantiate` program (config.commands.nixInstantiate). */
  nixInstantiate: string;
  /** `nix` program (config.commands.nix), used when nix-instantiate is missing. */
  nix: string;
  /** Extra search-path entries (`-I`), such as `nixpkgs=/path/to/nixpkgs`. */
  nixPath?: readonly string[];
  /** Timeout of one evaluation. */
  timeoutMs?: number;
}

/** The environment variable that carries the file path into the wrapper expression. */
export const FILE_ENV = "GRAPHEON_DISKO_FILE";

const MISSING = "grapheon-disko-missing-args:";

/** The wrapper: imports the file, calls it if it is a function, returns `disko.devices`. */
export const WRAPPER_EXPR = [
  "let",
  `  file = builtins.getEnv "${FILE_ENV}";`,
  "  value = import (/. + file);",
  "  libTry = builtins.tryEval (import <nixpkgs/lib>);",
  "  args = if builtins.isFunction value then builtins.functionArgs value else { };",
  '  canGive = n: n == "lib" && libTry.success;',
  "  names = builtins.attrNames args;",
  "  missing = builtins.filter (n: !args.${n} && !(canGive n)) names;",
  "  given = builtins.listToAttrs (map (n: { name = n; value = libTry.value; })",
  "    (builtins.filter canGive names));",
  "  result = if builtins.isFunction value then value given else value;",
  "  devices = if builtins.isAttrs result && result ? disko && result.disko ? devices",
  "    then result.disko.devices else result;",
  "in",
  "  if missing != [ ] then",
  `    throw "${MISSING} \${builtins.concatStringsSep " " missing}"`,
  "  else devices",
].join("\n");

function firstNixError(stderr: string): string {
  const lines = stderr.split("\n").map((l) => l.trim()).filter(Boolean);
  const i = lines.findIndex((l) => l.startsWith("error:"));
  if (i < 0) return lines.slice(-3).join(" | ") || "no output";
  const at = lines.slice(i + 1).find((l) => l.startsWith("at "));
  return [lines[i].replace(/^error:\s*/, ""), at].filter(Boolean).join(" ");
}

function notFound(err: unknown): boolean {
  return err instanceof CommandError && err.code === null && /not found/.test(err.message);
}

/** Explains the missing-arguments failure of the wrapper. */
function missingArgsMessage(file: string, names: string[]): string {
  const needsLib = names.includes("lib");
  const others = names.filter((n) => n !== "lib");
  const parts = [
    `${file}: the layout is a function that needs ${names.map((n) => `\`${n}\``).join(", ")}`,
  ];
  if (needsLib) {
    parts.push(
      "`lib` comes from <nixpkgs>, which is not on the Nix search path: set NIX_PATH=nixpkgs=/path/to/nixpkgs or pass --nix-path nixpkgs=/path/to/nixpkgs",
    );
  }
  if (others.length) {
    parts.push(
      `only \`lib\` is provided; give ${
        others.map((n) => `\`${n}\``).join(", ")
      } a default, or evaluate disko.devices yourself and pass the JSON`,
    );
  }
  return parts.join("; ");
}

/** Evaluates `file` and returns the parsed JSON of its `disko.devices`; InputError on failure. */
export async function evalDiskoNix(file: string, options: NixEvalOptions): Promise<unknown> {
  const abs = resolve(file);
  const include = (options.nixPath ?? []).flatMap((e) => ["-I", e]);
  const runOpts = { env: { [FILE_ENV]: abs }, timeoutMs: options.timeoutMs ?? 60_000 };
  const attempts: string[][] = [
    [options.nixInstantiate, "--eval", "--strict", "--json", ...include, "--expr", WRAPPER_EXPR],
    [
      options.nix,
      "--extra-experimental-features",
      "nix-command",
      "eval",
      "--impure",
      "--json",
      ...include,
      "--expr",
      WRAPPER_EXPR,
    ],
  ];
  for (const argv of attempts) {
    let result;
    try {
      result = await options.runner(argv, runOpts);
    } catch (err) {
      if (notFound(err)) continue;
      throw new InputError(`${file}: cannot evaluate with ${argv[0]}: ${(err as Error).message}`);
    }
    if (result.code !== 0) {
      const m = new RegExp(`${MISSING}\\s*([^\\n'"]*)`).exec(result.stderr);
      if (m) throw new InputError(missingArgsMessage(file, m[1].trim().split(/\s+/)));
      throw new InputError(
        `${file}: Nix evaluation failed (${argv[0]}): ${firstNixError(result.stderr)}`,
      );
    }
    try {
      return JSON.parse(result.stdout);
    } catch {
      throw new InputError(`${file}: ${argv[0]} printed something that is not JSON`);
    }
  }
  throw new InputError(
    `${file}: is a Nix file but neither ${options.nixInstantiate} nor ${options.nix} is installed; install Nix or pass the JSON of disko.devices`,
  );
}
