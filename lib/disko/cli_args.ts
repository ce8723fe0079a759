/**
 * What `disko`'s command line means, checked before anything is evaluated:
 * which layouts it names (files or `--flake` references, never both), the
 * `--disk-size` values (each naming a disk the layout declares), and disko's
 * rejection of a layout as the one finding `check` can report. Usage errors
 * name the flag.
 */
import { UsageError } from "../core/errors.ts";
import { type Finding, finding } from "./findings.ts";
import { parseFlakeRef } from "./flake_eval.ts";
import type { LayoutInput, LoadedLayout } from "./load.ts";
import type { DiskoEvalError } from "./nix_eval.ts";
import { parseByteCount } from "./size.ts";

/** The layouts named on the command line: the files, or the `--flake` references, in order. */
export function layoutInputs(
  files: readonly string[],
  flakes: readonly string[] = [],
): LayoutInput[] {
  if (files.length && flakes.length) {
    throw new UsageError("disko: give layouts as files or as --flake references, not both");
  }
  return [
    ...files.map((path): LayoutInput => ({ kind: "file", path })),
    ...flakes.map((text): LayoutInput => ({ kind: "flake", flake: parseFlakeRef(text) })),
  ];
}

/** The one layout a subcommand takes. */
export function oneLayoutInput(
  what: string,
  files: readonly string[],
  flakes?: readonly string[],
): LayoutInput {
  const all = layoutInputs(files, flakes);
  if (all.length !== 1) throw new UsageError(`${what}: expected one FILE or --flake REF#NAME`);
  return all[0];
}

/** Where a layout input comes from, for messages. */
export function inputName(input: LayoutInput): string {
  return input.kind === "file" ? input.path : input.flake.text;
}

/** Parses --disk-size values into a map (disk key or `*` → bytes). */
export function parseDiskSizes(values: readonly string[] = []): Map<string, number> {
  const sizes = new Map<string, number>();
  for (const v of values) {
    const eq = v.lastIndexOf("=");
    const [disk, text] = eq > 0 ? [v.slice(0, eq), v.slice(eq + 1)] : ["*", v];
    const bytes = parseByteCount(text);
    if (bytes === null || bytes <= 0) {
      throw new UsageError(`--disk-size: expected [DISK=]SIZE such as main=100G, got "${v}"`);
    }
    sizes.set(disk, bytes);
  }
  return sizes;
}

/** `--disk-size` values, each naming a disk the layout declares. */
export function diskSizesFor(
  layout: LoadedLayout,
  values: readonly string[] = [],
): Map<string, number> {
  const sizes = parseDiskSizes(values);
  const declared = new Set(layout.model.disks.filter((d) => d.kind === "disk").map((d) => d.key));
  for (const disk of sizes.keys()) {
    if (disk !== "*" && !declared.has(disk)) {
      const has = [...declared].join(", ") || "none";
      throw new UsageError(
        `--disk-size: ${layout.source} declares no disk "${disk}" (it has: ${has})`,
      );
    }
  }
  return sizes;
}

/** disko's own rejection of a layout, as the one finding `check` can report. */
export function rejectedFinding(source: string, err: DiskoEvalError): Finding {
  return finding("disko-eval", {
    path: err.option,
    message: err.detail,
    fix: `correct ${
      err.option ? `disko.devices.${err.option}` : source
    } as disko's option types say (the other rules run once disko accepts the layout)`,
  });
}
