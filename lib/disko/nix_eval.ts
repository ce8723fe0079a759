/**
 * Evaluates a `disko.nix` through Nix (lib/disko/nix_expr.ts): with disko's own
 * module types when disko is available (`--disko`, `$GRAPHEON_DISKO`, `<disko>`
 * on the search path) and nixpkgs' lib with it, else as plain Nix. Runs
 * `nix-instantiate --eval --strict --json` (or `nix eval` when only the new CLI
 * is installed) through the command runner; paths travel in environment
 * variables. Nix's failures become typed errors naming the file: a definition
 * disko rejects is a DiskoEvalError with the option path, so `check` can report
 * it as a finding.
 */
import { resolve } from "node:path";
import { CommandError, InputError } from "../core/errors.ts";
import type { Runner } from "../host/exec.ts";
import { DISKO_ENV, FILE_ENV, FILE_EXPR, LIB_ENV, MISSING_MARKER } from "./nix_expr.ts";

/** Where the programs are, how to call them, and where disko and nixpkgs' lib are. */
export interface NixEvalOptions {
  /** The command runner. */
  runner: Runner;
  /** `nix-instantiate` program (config.commands.nixInstantiate). */
  nixInstantiate: string;
  /** `nix` program (config.commands.nix), used when nix-instantiate is missing and for flakes. */
  nix: string;
  /** Extra search-path entries (`-I`), such as `nixpkgs=/path/to/nixpkgs`. */
  nixPath?: readonly string[];
  /** disko's directory (its `lib/` and `version.nix`); unset: `<disko>` if on the search path. */
  disko?: string;
  /** nixpkgs' `lib` directory; unset: `<nixpkgs/lib>`. */
  nixpkgsLib?: string;
  /** Timeout of one evaluation. */
  timeoutMs?: number;
}

/** Who evaluated a layout: disko's own types, plain Nix (the tool fills disko's defaults). */
export type NixEvaluator = "disko" | "nix";

/** A `.nix` layout after Nix. */
export interface NixEvaluation {
  /** Who evaluated it. */
  evaluatedBy: NixEvaluator;
  /** disko's version (its version.nix) when disko evaluated it and says. */
  diskoVersion: string | null;
  /** The JSON of `disko.devices`, internal attributes stripped. */
  devices: unknown;
}

/** disko's (or the module system's) evaluation rejects a definition: the option and why. */
export class DiskoEvalError extends InputError {
  /** The option path inside `disko.devices` (empty when Nix names none). */
  readonly option: string;
  /** Nix's message, on one line. */
  readonly detail: string;
  /** Constructs the error for `source`. */
  constructor(source: string, failure: { option: string; detail: string }) {
    super(`${source}: disko rejects the layout: ${failure.detail}`);
    this.option = failure.option;
    this.detail = failure.detail;
  }
}

/** Nix's error, from `error:` to before the `--show-trace` hint, on one line. */
export function nixErrorText(stderr: string): string {
  const at = stderr.indexOf("error:");
  const body = at < 0 ? stderr : stderr.slice(at + "error:".length);
  const text = body.split("(use '--show-trace'")[0]
    .replace(/TypeError: .*?, Definition values:/s, "Definition values:")
    .replace(/\s+/g, " ").trim();
  return (text || "no output").slice(0, 600);
}

/** The option a module-system error is about (`disk.main.content…`), or null. */
export function nixErrorOption(text: string): string | null {
  const m = /option [`‘']disko\.devices\.([^`'’]+)[`'’]/.exec(text);
  return m ? m[1] : null;
}

/** Classifies a failed evaluation of `source`; returns the error to throw. */
export function evalFailure(source: string, program: string, stderr: string): InputError {
  const marker = new RegExp(`${MISSING_MARKER}\\s*([^\\n'"]*)`).exec(stderr);
  if (marker) return new InputError(missingArgsMessage(source, marker[1].trim().split(/\s+/)));
  const text = nixErrorText(stderr);
  const option = nixErrorOption(text);
  if (option !== null) return new DiskoEvalError(source, { option, detail: text });
  return new InputError(`${source}: Nix evaluation failed (${program}): ${text}`);
}

function notFound(err: unknown): boolean {
  return err instanceof CommandError && err.code === null && /not found/.test(err.message);
}

/** Explains the missing-arguments failure of the wrapper. */
function missingArgsMessage(file: string, names: string[]): string {
  const parts = [
    `${file}: the layout is a function that needs ${names.map((n) => `\`${n}\``).join(", ")}`,
  ];
  if (names.includes("lib")) {
    parts.push(
      "`lib` comes from nixpkgs, which was not found: pass --nixpkgs-lib /path/to/nixpkgs/lib, set GRAPHEON_NIXPKGS_LIB, or NIX_PATH=nixpkgs=/path/to/nixpkgs",
    );
  }
  const others = names.filter((n) => n !== "lib");
  if (others.length) {
    parts.push(
      `only \`lib\`, \`config\` and \`options\` are given; give ${
        others.map((n) => `\`${n}\``).join(", ")
      } a default, or check the whole system with --flake`,
    );
  }
  return parts.join("; ");
}

/** Runs one evaluation argv list (nix-instantiate, then nix); the parsed JSON of stdout. */
export async function runNixJson(
  input: { source: string; attempts: string[][]; env: Record<string, string>; timeoutMs: number },
  runner: Runner,
): Promise<unknown> {
  for (const argv of input.attempts) {
    let result;
    try {
      result = await runner(argv, { env: input.env, timeoutMs: input.timeoutMs });
    } catch (err) {
      if (notFound(err)) continue;
      throw new InputError(
        `${input.source}: cannot evaluate with ${argv[0]}: ${(err as Error).message}`,
      );
    }
    // Nix prints partial JSON before an error: only the exit code says it worked.
    if (result.code !== 0) throw evalFailure(input.source, argv[0], result.stderr);
    try {
      return JSON.parse(result.stdout);
    } catch {
      throw new InputError(`${input.source}: ${argv[0]} printed something that is not JSON`);
    }
  }
  const programs = input.attempts.map((a) => a[0]);
  const missing = programs.length > 1
    ? `neither ${programs.join(" nor ")} is installed`
    : `${programs[0]} is not installed`;
  throw new InputError(
    `${input.source}: needs Nix, but ${missing}; install Nix or pass the JSON of disko.devices`,
  );
}

/** Evaluates the layout file `file`. */
export async function evalDiskoNix(
  file: string,
  options: NixEvalOptions,
): Promise<NixEvaluation> {
  const include = (options.nixPath ?? []).flatMap((e) => ["-I", e]);
  const env = {
    [FILE_ENV]: resolve(file),
    [DISKO_ENV]: options.disko ? resolve(options.disko) : "",
    [LIB_ENV]: options.nixpkgsLib ? resolve(options.nixpkgsLib) : "",
  };
  const raw = await runNixJson({
    source: file,
    env,
    timeoutMs: options.timeoutMs ?? 60_000,
    attempts: [
      [options.nixInstantiate, "--eval", "--strict", "--json", ...include, "--expr", FILE_EXPR],
      [
        options.nix,
        "--extra-experimental-features",
        "nix-command",
        "eval",
        "--impure",
        "--json",
        ...include,
        "--expr",
        FILE_EXPR,
      ],
    ],
  }, options.runner);
  const r = raw as { evaluatedBy?: unknown; diskoVersion?: unknown; devices?: unknown };
  return {
    evaluatedBy: r.evaluatedBy === "disko" ? "disko" : "nix",
    diskoVersion: typeof r.diskoVersion === "string" ? r.diskoVersion : null,
    devices: r.devices,
  };
}
