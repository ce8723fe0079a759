/**
 * `grapheon-tool rollback`: the operator's way back. Default target: the
 * release that ran before the last upgrade, by the exact image IDs recorded in
 * the history (pulled again by their `vX.Y.Z` tag if pruned since). Optionally
 * restores a database snapshot (the only safe way back across a schema change).
 * Takes the upgrade lock, writes the status file the web UI shows and a
 * history entry. `--clear` is the contract's manual recovery of a dead upgrade.
 */
import { join } from "node:path";
import {
  type AppVersion,
  appVersionSchema,
  EXIT,
  InputError,
  ToolError,
  UsageError,
} from "../lib/core/mod.ts";
import {
  type CommandContext,
  type CommandSpec,
  confirm,
  onStopSignals,
  parseCommandArgs,
  printResult,
  type RollbackOutcomeJson,
} from "../lib/cli/mod.ts";
import {
  clearStale,
  prepareRollback,
  type RollbackPlan,
  runRollback,
} from "../lib/rollback/mod.ts";
import { type Host, hostFor, lstatOrNull } from "../lib/host/mod.ts";
import { acquireLock, exitFor, requestPath, statusPath } from "../lib/job/mod.ts";
import { pairJson, pairText } from "../lib/status/mod.ts";

const HELP =
  `Usage: grapheon-tool rollback [--to X.Y.Z [--frontend X.Y.Z]] [--restore-data SNAPSHOT|latest]
                              [--clear] [--yes] [--dry-run] [--json]

Goes back to the release that ran before the last upgrade (the exact image IDs
recorded in the history; an image pruned since is pulled again by its vX.Y.Z
tag), restarts the backend then the frontend, and verifies health and version.
Writes the upgrade status the web UI shows and a history entry; takes the same
lock as 'upgrade'. Nothing live changes until every image is on the host.

Options:
  --to X.Y.Z            run this backend release instead (its newest recorded image,
                        else the tag vX.Y.Z); the frontend is the one that ran with it,
                        else the same version
  --frontend X.Y.Z      with --to: the frontend release to run
  --restore-data S      also put a database snapshot back: S is a name from
                        'grapheon-tool status' (network-<version>-<stamp>.db in
                        <stateDir>/backups) or 'latest'. The backend is stopped, the
                        current network.db (+ -wal, -shm) is moved aside into
                        <dataDir>/before-restore-<stamp>/ (never deleted), the
                        snapshot is copied in and checked byte for byte.
                        The app changes its schema at start-up and cannot downgrade
                        it: to go back across a schema change, restore the snapshot
                        the upgrade took before it started (shown by the plan).
  --clear               the manual recovery of a dead upgrade: archive a stale upgrade
                        request and remove a stale status file (the web UI then shows
                        no upgrade). Alone, it only clears; with --to or --restore-data
                        it clears, then rolls back. A pending request blocks a rollback
                        without it (the request would upgrade again right after).
  --yes                 do not ask for confirmation (asked only when stdin is a terminal)
  --dry-run             print the plan and change nothing
  --json                print the plan or the outcome as JSON

Exit codes: 0 rolled back (or nothing to do), 1 nothing to roll back to or a pending
request, 2 bad arguments, 3 bad config, 4 bad --to or snapshot, 5 an upgrade or
rollback holds the lock, 7 the rollback failed (the message says what runs and what
to do).`;

interface Options {
  to?: AppVersion;
  toFrontend?: AppVersion;
  restoreData?: string;
  clear: boolean;
  yes: boolean;
  dryRun: boolean;
}

function version(flag: string, value: string | undefined): AppVersion | undefined {
  if (value === undefined) return undefined;
  const parsed = appVersionSchema.safeParse(value);
  if (!parsed.success) {
    throw new InputError(`--${flag}: expected a version X.Y.Z, got "${value.slice(0, 40)}"`);
  }
  return parsed.data;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseCommandArgs("rollback", argv, OPTIONS);
  const options: Options = {
    to: version("to", values.to),
    toFrontend: version("frontend", values.frontend),
    restoreData: values["restore-data"],
    clear: values.clear ?? false,
    yes: values.yes ?? false,
    dryRun: values["dry-run"] ?? false,
  };
  if (options.toFrontend && !options.to) throw new UsageError("rollback: --frontend needs --to");
  if (options.restoreData === "") throw new InputError("--restore-data: empty snapshot name");
  return options;
}

function planJson(plan: RollbackPlan): Record<string, unknown> {
  return {
    from: pairJson(plan.from),
    to: pairJson(plan.to),
    source: plan.source,
    pulls: plan.pulls.map((p) => p.ref),
    snapshot: plan.snapshot?.name ?? null,
    upgrade_backup: plan.upgradeBackup,
    interrupted_job: plan.interrupted && !("corrupt" in plan.interrupted)
      ? plan.interrupted.id
      : null,
    request_pending: plan.requestPending,
    noop: plan.noop,
  };
}

function planLines(host: Host, plan: RollbackPlan): string[] {
  const id = (x: string | null) => x ? x.slice(0, 12) : "to pull";
  const now = (x: string | null) => x ? x.slice(0, 12) : "no container";
  const lines = [
    `rollback plan (${plan.source})`,
    `  now:  ${pairText(plan.from)} (backend ${now(plan.from.backend.imageId)}, frontend ${
      now(plan.from.frontend.imageId)
    })`,
    `  to:   ${pairText(plan.to)} (backend ${id(plan.to.backend.imageId)}, frontend ${
      id(plan.to.frontend.imageId)
    })`,
  ];
  for (const p of plan.pulls) {
    const why = p.recordedId ? `image ${p.recordedId.slice(0, 12)} was pruned` : "not on the host";
    lines.push(`  pull: ${p.ref} (${why})`);
  }
  if (plan.snapshot) {
    lines.push(
      `  data: stop ${host.config.backend.service}, move network.db aside, restore ${plan.snapshot.name}`,
    );
  } else if (plan.upgradeBackup) {
    lines.push(
      `  data: kept as is; the upgrade being undone took ${plan.upgradeBackup.split("/").at(-1)} ` +
        `(restore it with --restore-data if that upgrade changed the schema)`,
    );
  }
  if (plan.interrupted && !("corrupt" in plan.interrupted)) {
    lines.push(
      `  note: supersedes the interrupted ${plan.interrupted.kind} ${plan.interrupted.id}`,
    );
  }
  if (plan.requestPending) lines.push("  note: an upgrade request is pending (see --clear)");
  return lines;
}

async function clearOnly(ctx: CommandContext, host: Host, dryRun: boolean): Promise<number> {
  if (dryRun) {
    const request = await lstatOrNull(requestPath(host.config.dataDir));
    const status = await lstatOrNull(statusPath(host.config.dataDir));
    const human = `would archive the request: ${request ? "yes" : "none there"}\n` +
      `would remove the status file: ${status ? "yes" : "none there"}`;
    printResult(ctx, human, { dry_run: true, clear: { request: !!request, status: !!status } });
    return EXIT.OK;
  }
  using _lock = await acquireLock(host.config.stateDir, "rollback --clear");
  const result = await clearStale({
    dataDir: host.config.dataDir,
    stateDir: host.config.stateDir,
    now: host.clock.now(),
  });
  const human = [
    result.request ? `request archived as ${result.request}` : "no upgrade request to clear",
    result.status ? "status file removed (the web UI shows no upgrade)" : "no status file to clear",
  ].join("\n");
  printResult(ctx, human, { cleared: { request: result.request, status: result.status } });
  return EXIT.OK;
}

/** The command's own options (main.ts parses them with the global ones). */
const OPTIONS = {
  to: { type: "string" },
  frontend: { type: "string" },
  "restore-data": { type: "string" },
  clear: { type: "boolean" },
  yes: { type: "boolean", short: "y" },
  "dry-run": { type: "boolean" },
} as const;

/** The `rollback` command. */
export const rollbackCommand: CommandSpec = {
  name: "rollback",
  options: OPTIONS,
  help: HELP,
  async run(ctx) {
    const options = parseOptions(ctx.argv);
    const host = await hostFor(ctx);
    const { config } = host;
    const wantsRollback = !options.clear || options.to !== undefined ||
      options.restoreData !== undefined;
    if (!wantsRollback) return await clearOnly(ctx, host, options.dryRun);
    const request = {
      to: options.to,
      toFrontend: options.toFrontend,
      restoreData: options.restoreData,
    };
    if (options.dryRun) {
      const plan = await prepareRollback(host, request);
      printResult(ctx, planLines(host, plan).join("\n"), { dry_run: true, plan: planJson(plan) });
      return EXIT.OK;
    }
    using _lock = await acquireLock(config.stateDir, "rollback");
    const plan = await prepareRollback(host, request);
    if (plan.requestPending && !options.clear) {
      throw new ToolError(
        `an upgrade request is pending in ${join(config.dataDir, "upgrade-requested")}: after a ` +
          `rollback it would upgrade again; add --clear to archive it (nothing was changed)`,
      );
    }
    if (plan.noop) {
      printResult(ctx, `${pairText(plan.to)} already runs; nothing to do`, {
        result: "noop",
        plan: planJson(plan),
      });
      return EXIT.OK;
    }
    // the plan is the result on stdout; with --json it goes to the log, so a prompt still shows it
    for (const line of planLines(host, plan)) ctx.global.json ? ctx.log.info(line) : ctx.out(line);
    if (!(await confirm("Roll back now?", { yes: options.yes }))) {
      throw new ToolError("not confirmed; nothing was changed");
    }
    if (options.clear) {
      const cleared = await clearStale({
        dataDir: config.dataDir,
        stateDir: config.stateDir,
        now: host.clock.now(),
      });
      if (cleared.request) host.log.info(`request archived as ${cleared.request}`);
    }
    const interrupt = new AbortController();
    const onSignal = () => interrupt.abort(new ToolError("interrupted by a signal"));
    using _signals = onStopSignals(onSignal);
    const outcome = await runRollback(host, plan, interrupt.signal);
    const doc: RollbackOutcomeJson = {
      result: outcome.ok ? "completed" : "failed",
      job_id: outcome.jobId,
      from: pairJson(outcome.from),
      to: pairJson(outcome.to),
      message: outcome.message,
      live_touched: outcome.liveTouched,
      restore: outcome.restore
        ? {
          snapshot: plan.snapshot!.name,
          aside_dir: outcome.restore.asideDir,
          moved: outcome.restore.moved,
          sha256: outcome.restore.sha256,
          bytes: outcome.restore.bytes,
        }
        : null,
      duration_ms: outcome.durationMs,
    };
    printResult(ctx, outcome.message, doc);
    return exitFor(outcome.outcome);
  },
};
