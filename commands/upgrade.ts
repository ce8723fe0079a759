/**
 * `grapheon-tool upgrade`: the ExecStart of grapheon-upgrade.service. Parses the
 * options, takes the lock, turns signals into a safe-point abort, and maps the
 * job's outcome to an exit code; the job itself is lib/upgrade.
 */
import {
  type CommandSpec,
  durationFlag,
  jsonText,
  onStopSignals,
  parseCommandArgs,
  versionFlag,
} from "../lib/cli/mod.ts";
import { ToolError, UsageError } from "../lib/core/mod.ts";
import { hostFor } from "../lib/host/mod.ts";
import { acquireLock, exitFor, stepLines } from "../lib/job/mod.ts";
import { dryRunLines, planUpgrade, upgradeJson, upgradeReport } from "../lib/upgrade/mod.ts";

/** How long a run started by systemd waits for a busy lock. */
const SYSTEMD_LOCK_WAIT_MS = 15 * 60_000;

const OPTIONS = {
  version: { type: "string" },
  "backend-version": { type: "string" },
  "frontend-version": { type: "string" },
  "allow-downgrade": { type: "boolean" },
  "dry-run": { type: "boolean" },
  recover: { type: "boolean" },
  "no-canary": { type: "boolean" },
  "wait-for-lock": { type: "string" },
} as const;

const HELP = `Usage: grapheon-tool upgrade [options]

Runs the upgrade the app requested in <dataDir>/upgrade-requested (the app's JSON,
a bare version such as 0.10.4 or v0.10.4), or the one given by flags, in the steps
the web UI shows:
${stepLines().join("\n")}
The status the web UI polls (<dataDir>/upgrade-status.json) is written atomically at
every step. One upgrade at a time (a lock); an interrupted upgrade (SIGKILL, power
loss) is finished by the next run. SIGTERM/SIGINT/SIGHUP stop at a safe point and roll back.

Options:
  --version X.Y.Z            upgrade both containers to X.Y.Z without a request file
  --backend-version X.Y.Z    backend version (with --frontend-version)
  --frontend-version X.Y.Z   frontend version (with --backend-version)
  --allow-downgrade          allow a lower version than the one running
  --no-canary                skip the canary (also: config canary.enabled=false)
  --recover                  only finish an interrupted upgrade (boot-time check)
  --wait-for-lock D          wait up to D for a busy lock before exiting 5 (default 0, or
                             15m when run by systemd: a busy exit would make the .path
                             unit re-trigger until its trigger limit disables it)
  --dry-run                  print the plan and change nothing
  --json                     one JSON document: result, changed, rolled_back, exit_code,
                             from/to, duration_ms, phases_ms (for scripts and Ansible)

Exit codes:
  0  upgraded, or nothing to do (already running, no request)
  1  failed before anything live changed (pull or backup failed, interrupted)
  2  bad command line          3  bad config
  4  bad request (refused and archived; status says why), or a refused downgrade
  5  busy: another upgrade or rollback holds the lock; nothing touched
  6  failed and rolled back: the previous release runs and is healthy
  7  failed and the rollback failed too, or an interrupted rollback / unreadable
     journal needs an operator: act by hand (the status says how)
  8  refused by the canary: nothing live touched`;

function parseOptions(argv: string[]) {
  const { values } = parseCommandArgs("upgrade", argv, OPTIONS);
  const both = versionFlag("version", values.version);
  const backend = versionFlag("backend-version", values["backend-version"]) ?? both;
  const frontend = versionFlag("frontend-version", values["frontend-version"]) ?? both;
  if ((backend === undefined) !== (frontend === undefined)) {
    throw new UsageError("give --version, or both --backend-version and --frontend-version");
  }
  return {
    target: backend && frontend ? { backend, frontend } : null,
    allowDowngrade: values["allow-downgrade"] ?? false,
    dryRun: values["dry-run"] ?? false,
    recover: values.recover ?? false,
    canary: !(values["no-canary"] ?? false),
    // Under systemd a busy exit makes the .path unit re-trigger at once until its
    // trigger limit disables it; waiting there serializes the runs instead.
    lockWaitMs: durationFlag(
      "wait-for-lock",
      values["wait-for-lock"],
      Deno.env.get("INVOCATION_ID") ? SYSTEMD_LOCK_WAIT_MS : 0,
    ),
  };
}

/** The `upgrade` command. */
export const upgradeCommand: CommandSpec = {
  name: "upgrade",
  options: OPTIONS,
  help: HELP,
  async run(ctx) {
    const options = parseOptions(ctx.argv);
    const host = await hostFor(ctx);
    if (options.dryRun) {
      const dry = await planUpgrade(host, options);
      if (ctx.global.json) ctx.out(jsonText(dry));
      else dryRunLines(dry).forEach((line) => ctx.out(line));
      return exitFor(null);
    }
    using _lock = await acquireLock(host.config.stateDir, "upgrade", {
      waitMs: options.lockWaitMs,
      onWait: () => host.log.info("another upgrade or rollback holds the lock; waiting for it"),
    });
    const interrupt = new AbortController();
    const onSignal = () => {
      host.log.warn("interrupted: stopping at the next safe point");
      interrupt.abort(new ToolError("interrupted by a signal"));
    };
    using _signals = onStopSignals(onSignal);
    const report = await upgradeReport(host, { ...options, signal: interrupt.signal });
    if (ctx.global.json) ctx.out(jsonText(upgradeJson(report)));
    return exitFor(report.outcome);
  },
};
