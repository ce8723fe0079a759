/**
 * `grapheon-tool disko`: checks a disko layout before it breaks a host.
 * `check` runs the rules (and, with --live, compares with the machine); `diff`
 * (or `diff --live`) classifies every change as safe, not applied, or
 * destructive, and exits by the worst one so CI can gate a rebuild; `eval`
 * prints the evaluated layout; `guard` is the NixOS pre-switch check. A layout
 * is a file (`.nix` or JSON) or a flake's NixOS configuration (`--flake`).
 */
import {
  type CommandContext,
  type CommandSpec,
  jsonText,
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
import {
  diskSizesFor,
  inputName,
  layoutInputs,
  oneLayoutInput,
  rejectedFinding,
} from "../lib/disko/cli_args.ts";
import { evalDirs } from "../lib/disko/eval_dirs.ts";
import { countBySeverity, type Finding, RULES, sortFindings } from "../lib/disko/findings.ts";
import { guardSummary } from "../lib/disko/guard.ts";
import { runGuard } from "../lib/disko/guard_run.ts";
import { liveFindings } from "../lib/disko/live_compare.ts";
import { type LiveSourceOptions, readMachine } from "../lib/disko/live_source.ts";
import {
  layoutDocument,
  type LoadedLayout,
  loadLayout,
  type LoadOptions,
} from "../lib/disko/load.ts";
import { DiskoEvalError } from "../lib/disko/nix_eval.ts";
import { describeEvaluation, renderChanges, renderFindings } from "../lib/disko/render.ts";

const OPTIONS = {
  "disk-size": { type: "string", multiple: true },
  live: { type: "boolean" },
  "lsblk-json": { type: "string" },
  "findmnt-json": { type: "string" },
  "nix-path": { type: "string", multiple: true },
  flake: { type: "string", multiple: true },
  disko: { type: "string" },
  "nixpkgs-lib": { type: "string" },
  "override-file": { type: "string" },
  current: { type: "string" },
} as const;

const DEFAULT_OVERRIDE_FILE = "/run/grapheon/disko-override";

const HELP =
  `Usage: grapheon-tool disko check (FILE | --flake REF#NAME) [--disk-size [DISK=]SIZE]...
                                [--live | --lsblk-json F [--findmnt-json F]]
       grapheon-tool disko diff OLD NEW   (or --flake OLDREF#NAME --flake NEWREF#NAME)
       grapheon-tool disko diff --live (NEW | --flake REF#NAME)   (or --lsblk-json F [--findmnt-json F])
       grapheon-tool disko eval (FILE | --flake REF#NAME)
       grapheon-tool disko guard SYSTEM ACTION [--override-file F] [--current SYSTEM]
       grapheon-tool disko rules

Checks a disko layout (disko.nix, the JSON of disko.devices, or a flake's NixOS
configuration) before nixos-anywhere or a rebuild uses it. Wherever disko is
available the layout is evaluated by disko itself (its types, defaults and
errors); the output says which evaluation ran.

Options:
  --flake REF#NAME         the layout of nixosConfigurations.NAME in flake REF, as its own
                           disko evaluates it (diff: give it twice, OLD then NEW)
  --disko PATH             disko to evaluate .nix files with (default $GRAPHEON_DISKO, else
                           <disko> on the Nix search path, else plain Nix without disko)
  --nixpkgs-lib PATH       nixpkgs' lib directory (default $GRAPHEON_NIXPKGS_LIB, else <nixpkgs/lib>)
  --nix-path ENTRY         extra Nix search path entry (-I), e.g. nixpkgs=/path/to/nixpkgs
  --disk-size [DISK=]SIZE  disk size for the fit rule (100G, 256060514304); DISK is the
                           attribute name under disko.devices.disk, none means every disk
  --live                   compare with this machine (lsblk --json --bytes, findmnt --json)
  --lsblk-json FILE        use recorded lsblk JSON instead of running lsblk (implies --live)
  --findmnt-json FILE      use recorded findmnt JSON (with --lsblk-json)
  --override-file F        guard: the file whose presence overrides a refusal once
                           (default ${DEFAULT_OVERRIDE_FILE}; or GRAPHEON_DISKO_OVERRIDE=1)
  --current SYSTEM         guard: the running system, for drift it already has (/run/current-system)
  --json                   machine-readable output

guard runs as NixOS's system.preSwitchChecks.grapheon-disko (services.grapheon.diskoGuard):
SYSTEM is the incoming system, ACTION switch-to-configuration's action.

Rules: 'grapheon-tool disko rules' lists them (id, severity, what).

Exit codes:
  check: 0 no errors (warnings allowed), 1 errors found
  diff:  0 only safe changes (or none), 9 worst change is not applied by disko,
         10 worst change is destructive
  guard: 0 switch may go ahead (or only reported), 9/10 refused (as diff), 1 could not check
  all:   2 bad command line, 3 bad config, 4 unreadable or invalid layout/JSON (file and field named)`;

type Values = ReturnType<typeof parseArgs>["values"];

function parseArgs(argv: string[]) {
  return parseCommandArgs("disko", argv, OPTIONS, true);
}

/** How to evaluate layouts and read the machine, from the config and the flags. */
type Options = LoadOptions & { live: LiveSourceOptions };

async function loadOptions(ctx: CommandContext, values: Values): Promise<Options> {
  const { config } = await loadConfig(ctx.global.configPath);
  const dirs = evalDirs(
    { disko: values.disko, nixpkgsLib: values["nixpkgs-lib"] },
    (n) => Deno.env.get(n),
  );
  return {
    nix: {
      runner: run,
      nixInstantiate: config.commands.nixInstantiate,
      nix: config.commands.nix,
      nixPath: values["nix-path"],
      ...dirs,
    },
    live: {
      "lsblk-json": values["lsblk-json"],
      "findmnt-json": values["findmnt-json"],
      runner: run,
      lsblk: config.commands.lsblk,
      findmnt: config.commands.findmnt,
    },
  };
}

function wantsLive(values: Values): boolean {
  if (values["findmnt-json"] && !values["lsblk-json"]) {
    throw new UsageError("--findmnt-json needs --lsblk-json (or use --live)");
  }
  return Boolean(values.live || values["lsblk-json"]);
}

/** The parsed command line of a subcommand. */
interface Args {
  values: Values;
  files: string[];
}

async function check(ctx: CommandContext, args: Args): Promise<number> {
  const input = oneLayoutInput("disko check", args.files, args.values.flake);
  const source = inputName(input);
  const opts = await loadOptions(ctx, args.values);
  let layout: LoadedLayout;
  try {
    layout = await loadLayout(input, opts);
  } catch (err) {
    if (!(err instanceof DiskoEvalError)) throw err;
    const findings = [rejectedFinding(source, err)];
    const counts = countBySeverity(findings);
    const note = "evaluated by disko: it rejects the layout";
    const via = input.kind === "flake" ? "flake" : "nix-file";
    printResult(ctx, renderFindings(`disko check ${source}`, findings, [note]), {
      file: source,
      evaluation: { by: "disko", via, diskoVersion: null, rejected: true },
      ok: false,
      counts,
      findings,
    });
    return EXIT.FAILURE;
  }
  const sizes = diskSizesFor(layout, args.values["disk-size"]);
  let drift: Finding[] = [];
  if (wantsLive(args.values)) {
    const { snap, match } = await readMachine({ model: layout.model, source: opts.live });
    for (const [disk, bytes] of match.diskSizes) if (!sizes.has(disk)) sizes.set(disk, bytes);
    drift = liveFindings({ model: layout.model, snap, match });
  }
  const findings = sortFindings([
    ...checkLayout(layout.model, { diskSizes: sizes, systemRoot: layout.systemRoot }),
    ...drift,
  ]);
  const counts = countBySeverity(findings);
  const notes = [describeEvaluation(layout.evaluation)];
  printResult(ctx, renderFindings(`disko check ${source}`, findings, notes), {
    file: source,
    evaluation: layout.evaluation,
    ok: counts.error === 0,
    counts,
    findings,
  });
  return counts.error ? EXIT.FAILURE : EXIT.OK;
}

async function diff(ctx: CommandContext, args: Args): Promise<number> {
  const live = wantsLive(args.values);
  const all = layoutInputs(args.files, args.values.flake);
  if (all.length !== (live ? 1 : 2)) {
    throw new UsageError(
      live
        ? "disko diff --live: expected NEW or --flake REF#NAME"
        : "disko diff: expected OLD NEW (or --flake OLD --flake NEW)",
    );
  }
  const opts = await loadOptions(ctx, args.values);
  let changes: Change[];
  let oldName: string;
  const notes: string[] = [];
  const evaluation: Record<string, unknown> = {};
  const newLayout = await loadLayout(all.at(-1)!, opts);
  if (live) {
    const { snap, match } = await readMachine({ model: newLayout.model, source: opts.live });
    changes = diffLive({ model: newLayout.model, snap, match });
    oldName = args.values["lsblk-json"] ?? "(live machine)";
  } else {
    const oldLayout = await loadLayout(all[0], opts);
    changes = diffLayouts(oldLayout.model, newLayout.model);
    oldName = oldLayout.source;
    evaluation.old = oldLayout.evaluation;
    notes.push(`old: ${describeEvaluation(oldLayout.evaluation)}`);
    if (oldLayout.evaluation.by !== newLayout.evaluation.by) {
      notes.push(
        "note: OLD and NEW were evaluated differently; defaults one side lacks may show as changes",
      );
    }
  }
  evaluation.new = newLayout.evaluation;
  notes.push(`new: ${describeEvaluation(newLayout.evaluation)}`);
  printResult(ctx, renderChanges(`disko diff ${oldName} → ${newLayout.source}`, changes, notes), {
    old: oldName,
    new: newLayout.source,
    evaluation,
    worst: worstClass(changes),
    changes,
  });
  return diffExitCode(changes);
}

async function evaluate(ctx: CommandContext, args: Args): Promise<number> {
  const input = oneLayoutInput("disko eval", args.files, args.values.flake);
  const doc = layoutDocument(await loadLayout(input, await loadOptions(ctx, args.values)));
  ctx.out(jsonText(doc, ctx.global.json ? undefined : 2));
  return EXIT.OK;
}

async function guard(ctx: CommandContext, args: Args): Promise<number> {
  if (args.files.length !== 2 || args.values.flake) {
    throw new UsageError("disko guard: expected SYSTEM ACTION (switch-to-configuration's $1 $2)");
  }
  const [system, action] = args.files;
  const opts = await loadOptions(ctx, args.values);
  const overrideFile = args.values["override-file"] ?? DEFAULT_OVERRIDE_FILE;
  const result = await runGuard({
    system,
    action,
    current: args.values.current ?? "/run/current-system",
    overrideFile,
    load: opts,
    live: opts.live,
    env: (n) => Deno.env.get(n),
    log: ctx.log,
  });
  const d = result.decision;
  const lines = result.present
    ? [
      guardSummary({ ...result.input, system, overrideFile }, d),
      ...(result.ignoredOverride ? [`override ignored: ${result.ignoredOverride}`] : []),
      ...(d.blocking.length ? ["", renderChanges("changes", d.blocking)] : []),
      ...(d.known.length ? ["", renderChanges("already there before", d.known)] : []),
    ]
    : [`grapheon-disko: ${system} has no etc/grapheon/disko.json (guard off there): not checked`];
  printResult(ctx, lines.join("\n"), {
    system,
    action,
    present: result.present,
    verdict: d.verdict,
    exit: d.exit,
    error: result.input.error ?? null,
    override: result.input.override,
    ignoredOverride: result.ignoredOverride ?? null,
    blocking: d.blocking,
    known: d.known,
  });
  return d.exit;
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
    if (sub === "eval") return await evaluate(ctx, { values, files });
    if (sub === "guard") return await guard(ctx, { values, files });
    if (sub === "rules") return rules(ctx);
    throw new UsageError(
      sub
        ? `disko: unknown subcommand "${sub}"`
        : "disko: expected check, diff, eval, guard or rules",
    );
  },
};
