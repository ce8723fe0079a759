/**
 * `deno task compile`: builds the standalone binaries with `deno compile`, one
 * per target in scripts/compile_spec.json (the list nix/package.nix reads too),
 * into dist/grapheon-tool-<arch>-linux. `deno compile` needs Deno's runtime base
 * (`denort`): it downloads it from dl.deno.land unless DENORT_BIN names a local
 * one (nixpkgs: the top-level `denort` package, `${pkgs.denort}/bin/denort`, of the
 * same version as the deno that compiles), and a local one only builds its own
 * platform.
 *
 * Usage: deno task compile [--target x86_64-linux|aarch64-linux|all] [--dry-run]
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import spec from "./compile_spec.json" with { type: "json" };

/** A platform name of compile_spec.json (`x86_64-linux`, `aarch64-linux`). */
export type Platform = keyof typeof spec.targets;

/** The output file of a platform: `dist/grapheon-tool-x86_64-linux`. */
export function outputPath(platform: Platform): string {
  return join(spec.outDir, `${spec.name}-${platform}`);
}

/** The `deno compile` argv for one platform (without the leading `deno`). */
export function compileArgs(platform: Platform): string[] {
  return [
    "compile",
    "--frozen",
    "--target",
    spec.targets[platform],
    ...spec.permissions,
    ...spec.include.flatMap((i) => ["--include", i]),
    "--output",
    outputPath(platform),
    spec.entry,
  ];
}

/** The platform this process runs on, if it is one of the targets. */
export function hostPlatform(): Platform | null {
  const name = `${Deno.build.arch}-${Deno.build.os}`;
  return name in spec.targets ? name as Platform : null;
}

/**
 * Which platforms to build: the requested one, or all; with DENORT_BIN only the
 * host's (a local denort is a runtime for its own platform). Throws with the
 * reason when that leaves nothing to build.
 */
export function choosePlatforms(requested: string, denortBin: string | undefined): Platform[] {
  const all = Object.keys(spec.targets) as Platform[];
  if (requested !== "all" && !all.includes(requested as Platform)) {
    throw new Error(`--target: expected one of ${all.join(", ")} or all, got "${requested}"`);
  }
  const wanted = requested === "all" ? all : [requested as Platform];
  if (!denortBin) return wanted;
  const host = hostPlatform();
  const buildable = wanted.filter((p) => p === host);
  if (buildable.length === 0) {
    throw new Error(
      `DENORT_BIN=${denortBin} is a runtime for ${host ?? "this platform"} only; ` +
        `it cannot build ${wanted.join(", ")}`,
    );
  }
  return buildable;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: Deno.args,
    options: { target: { type: "string", default: "all" }, "dry-run": { type: "boolean" } },
    strict: true,
  });
  const denort = Deno.env.get("DENORT_BIN") || undefined;
  let platforms: Platform[];
  try {
    platforms = choosePlatforms(values.target!, denort);
  } catch (err) {
    console.error(`compile: ${(err as Error).message}`);
    return 2;
  }
  if (denort) {
    try {
      if (!(await Deno.stat(denort)).isFile) throw new Error("not a file");
    } catch (err) {
      console.error(
        `compile: DENORT_BIN=${denort}: ${
          (err as Error).message
        }; point it at a denort binary (nixpkgs: \${pkgs.denort}/bin/denort)`,
      );
      return 1;
    }
    const skipped = (values.target === "all" ? Object.keys(spec.targets) : [])
      .filter((p) => !platforms.includes(p as Platform));
    if (skipped.length) {
      console.error(
        `compile: DENORT_BIN set: building ${platforms.join(", ")} only, not ${skipped.join(", ")}`,
      );
    }
  } else {
    console.error(
      "compile: DENORT_BIN is not set: deno compile downloads denort from dl.deno.land. " +
        "Offline, set DENORT_BIN to a local denort of this deno's version (nixpkgs: ${pkgs.denort}/bin/denort).",
    );
  }
  for (const p of platforms) {
    const args = compileArgs(p);
    console.error(`compile: deno ${args.join(" ")}`);
    if (values["dry-run"]) continue;
    await Deno.mkdir(spec.outDir, { recursive: true });
    const status = await new Deno.Command(Deno.execPath(), {
      args,
      stdout: "inherit",
      stderr: "inherit",
    })
      .spawn().status;
    if (!status.success) {
      console.error(
        `compile: deno compile for ${p} failed (exit ${status.code})` +
          (denort ? "" : "; without network access set DENORT_BIN (see above)"),
      );
      return 1;
    }
    console.error(`compile: built ${outputPath(p)}`);
  }
  return 0;
}

if (import.meta.main) Deno.exit(await main());
