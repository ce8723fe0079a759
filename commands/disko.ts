/**
 * `grapheon-tool disko`: checks a disko layout before it breaks a host.
 * `check FILE` runs the rules (and, with --live, compares with the machine);
 * `diff OLD NEW` (or `diff --live NEW`) classifies every change as safe, not
 * applied, or destructive, and exits by the worst one so CI can gate a rebuild.
 */
import {
  type CommandContext,
  type CommandSpec,
  parseCommandArgs,
  printResult,
} from "../lib/cli/mod.ts";
import { loadConfig } from "../lib/config/mod.ts";
import { EXIT, UsageError } from "../lib/core/mod.ts";
import { run } from "../lib/host/mod.ts";
import { type Change, diffExitCode, worstClass } from "../lib/disko/changes.ts";
import { checkLayout } from "../lib/disko/check.ts";
import { diffLayouts } from "../lib/disko/diff.ts";
import { diffLive } from "../lib/disko/diff_live.ts";
import { countBySeverity, type Finding, RULES, sortFindings } from "../lib/disko/findings.ts";
import { liveFindings, matchLive } from "../lib/disko/live_compare.ts";
import { readLiveSource, realDeviceResolver } from "../lib/disko/live_source.ts";
import { loadLayout, type LoadOptions } from "../lib/disko/load.ts";
import type { LayoutModel } from "../lib/disko/model.ts";
import { renderChanges, renderFindings } from "../lib/disko/render.ts";
import { parseByteCount } from "../lib/disko/size.ts";

const OPTIONS = {
  "disk-size": { type: "string", multiple: true },
  live: { type: "boolean" },
  "lsblk-json": { type: "string" },
  "findmnt-json": { type: "string" },
  "nix-path": { type: "string", multiple: true },
} as const;

const HELP =
  `Usage: grapheon-tool disko check FILE [--disk-size [DISK=]SIZE]... [--live | --lsblk-json F [--findmnt-json F]]
       grapheon-tool disko diff OLD NEW
       grapheon-tool disko diff --live NEW   (or --lsblk-json F [--findmnt-json F] NEW)
       grapheon-tool disko rules

Checks a disko layout (disko.nix, evaluated with nix-instantiate or nix, or the
JSON of the evaluated disko.devices) before nixos-anywhere or nixos-rebuild uses it.

Options:
  --disk-size [DISK=]SIZE  disk size for the fit rule (100G, 256060514304); DISK is the
                           attribute name under disko.devices.disk, none means every disk
  --live                   compare with this machine (lsblk --json --bytes, findmnt --json)
  --lsblk-json FILE        use recorded lsblk JSON instead of running lsblk (implies --live)
  --findmnt-json FILE      use recorded findmnt JSON (with --lsblk-json)
  --nix-path ENTRY         extra Nix search path entry (-I), e.g. nixpkgs=/path/to/nixpkgs,
                           for layouts that take { lib, ... }
  --json                   machine-readable output

Rules: 'grapheon-tool disko rules' lists them (id, severity, what).

Exit codes:
  check: 0 no errors (warnings allowed), 1 errors found
  diff:  0 only safe changes (or none), 9 worst change is not applied by disko,
         10 worst change is destructive
  both:  2 bad command line, 3 bad config, 4 unreadable or invalid layout/JSON (file and field named)`;

type Values = ReturnType<typeof parseArgs>["values"];

function parseArgs(argv: string[]) {
  return parseCommandArgs("disko", argv, OPTIONS, true);
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

/** How to evaluate layouts and read the machine, from the config. */
type Options = LoadOptions & { lsblk: string; findmnt: string };

async function loadOptions(ctx: CommandContext, values: Values): Promise<Options> {
  const { config } = await loadConfig(ctx.global.configPath);
  return {
    nix: {
      runner: run,
      nixInstantiate: config.commands.nixInstantiate,
      nix: config.commands.nix,
      nixPath: values["nix-path"],
    },
    lsblk: config.commands.lsblk,
    findmnt: config.commands.findmnt,
  };
}

function wantsLive(values: Values): boolean {
  if (values["findmnt-json"] && !values["lsblk-json"]) {
    throw new UsageError("--findmnt-json needs --lsblk-json (or use --live)");
  }
  return Boolean(values.live || values["lsblk-json"]);
}

/** The parsed command line of `check` and `diff`. */
interface Args {
  values: Values;
  files: string[];
}

/** `--disk-size` values, each naming a disk the layout declares. */
function diskSizesFor(model: LayoutModel, args: Args): Map<string, number> {
  const sizes = parseDiskSizes(args.values["disk-size"]);
  const declared = new Set(model.disks.filter((d) => d.kind === "disk").map((d) => d.key));
  for (const disk of sizes.keys()) {
    if (disk !== "*" && !declared.has(disk)) {
      const has = [...declared].join(", ") || "none";
      throw new UsageError(
        `--disk-size: ${args.files[0]} declares no disk "${disk}" (it has: ${has})`,
      );
    }
  }
  return sizes;
}

/** Reads the machine (or the recorded JSON) and matches it with the layout. */
async function readMachine(input: { model: LayoutModel; args: Args; opts: Options }) {
  const { model, opts } = input;
  const values = input.args.values;
  const snap = await readLiveSource({
    ...values,
    runner: run,
    lsblk: opts.lsblk,
    findmnt: opts.findmnt,
  });
  const resolve = values["lsblk-json"] ? () => null : realDeviceResolver;
  return { snap, match: matchLive({ model, snap, resolve }) };
}

async function check(ctx: CommandContext, args: Args): Promise<number> {
  if (args.files.length !== 1) throw new UsageError("disko check: expected one FILE");
  const file = args.files[0];
  const opts = await loadOptions(ctx, args.values);
  const model = await loadLayout(file, opts);
  const sizes = diskSizesFor(model, args);
  let drift: Finding[] = [];
  if (wantsLive(args.values)) {
    const { snap, match } = await readMachine({ model, args, opts });
    for (const [disk, bytes] of match.diskSizes) if (!sizes.has(disk)) sizes.set(disk, bytes);
    drift = liveFindings({ model, snap, match });
  }
  const findings = sortFindings([...checkLayout(model, { diskSizes: sizes }), ...drift]);
  const counts = countBySeverity(findings);
  printResult(ctx, renderFindings(`disko check ${file}`, findings), {
    file,
    ok: counts.error === 0,
    counts,
    findings,
  });
  return counts.error ? EXIT.FAILURE : EXIT.OK;
}

async function diff(ctx: CommandContext, args: Args): Promise<number> {
  const live = wantsLive(args.values);
  if (args.files.length !== (live ? 1 : 2)) {
    throw new UsageError(live ? "disko diff --live: expected NEW" : "disko diff: expected OLD NEW");
  }
  const opts = await loadOptions(ctx, args.values);
  const newFile = args.files.at(-1)!;
  let changes: Change[];
  let oldName: string;
  if (live) {
    const model = await loadLayout(newFile, opts);
    const { snap, match } = await readMachine({ model, args, opts });
    changes = diffLive({ model, snap, match });
    oldName = args.values["lsblk-json"] ?? "(live machine)";
  } else {
    const [a, b] = await Promise.all([loadLayout(args.files[0], opts), loadLayout(newFile, opts)]);
    changes = diffLayouts(a, b);
    oldName = args.files[0];
  }
  printResult(ctx, renderChanges(`disko diff ${oldName} → ${newFile}`, changes), {
    old: oldName,
    new: newFile,
    worst: worstClass(changes),
    changes,
  });
  return diffExitCode(changes);
}

function rules(ctx: CommandContext): number {
  const list = Object.entries(RULES).map(([id, r]) => ({ id, severity: r.severity, what: r.what }));
  const width = Math.max(...list.map((r) => r.id.length));
  printResult(
    ctx,
    list.map((r) => `${r.id.padEnd(width)}  ${r.severity.padEnd(7)}  ${r.what}`).join("\n"),
    list,
  );
  return EXIT.OK;
}

/** The `disko` command. */
export const diskoCommand: CommandSpec = {
  name: "disko",
  options: OPTIONS,
  positionals: true,
  help: HELP,
  async run(ctx) {
    const { values, positionals } = parseArgs(ctx.argv);
    const [sub, ...files] = positionals;
    if (sub === "check") return await check(ctx, { values, files });
    if (sub === "diff") return await diff(ctx, { values, files });
    if (sub === "rules") return rules(ctx);
    throw new UsageError(
      sub ? `disko: unknown subcommand "${sub}"` : "disko: expected check, diff or rules",
    );
  },
};
