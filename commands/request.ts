/**
 * `grapheon-tool request X.Y.Z`: writes the upgrade request exactly as the app
 * does (`upgrade-requested` in the data dir, the app's JSON, atomically), so an
 * operator can start the same upgrade the web UI would, through the same
 * `.path` unit. The version is required: the host asks no one which is newest.
 */
import {
  type AppVersion,
  appVersionSchema,
  EXIT,
  InputError,
  UsageError,
} from "../lib/core/mod.ts";
import { type CommandSpec, parseCommandArgs, printResult } from "../lib/cli/mod.ts";
import { healthBodySchema } from "../lib/health/mod.ts";
import { hostFor } from "../lib/host/mod.ts";
import { writeRequest } from "../lib/job/mod.ts";
import { PATH_UNIT } from "../lib/status/mod.ts";

const HELP = `Usage: grapheon-tool request X.Y.Z [--frontend X.Y.Z] [--json]

Writes <dataDir>/upgrade-requested exactly as the app's "upgrade" button does
({"requested_at", "current_version", "target_version", "target_backend_version",
"target_frontend_version"}), atomically; grapheon-upgrade.path then starts the
upgrade. The version is required (a leading v is accepted); the frontend gets the
same version unless --frontend says otherwise. current_version is the running
backend's version from its health endpoint (null when it does not answer).
A symlink in place of the request file is refused.

Exit codes: 0 written, 2 no version, 4 bad version or a symlink in the way, 3 bad config.`;

function version(what: string, value: string): AppVersion {
  const parsed = appVersionSchema.safeParse(value);
  if (!parsed.success) {
    throw new InputError(`${what}: expected a version X.Y.Z, got "${value.slice(0, 40)}"`);
  }
  return parsed.data;
}

/** The command's own options (main.ts parses them with the global ones). */
const OPTIONS = {
  frontend: { type: "string" },
} as const;

/** The `request` command. */
export const requestCommand: CommandSpec = {
  name: "request",
  options: OPTIONS,
  positionals: true,
  help: HELP,
  async run(ctx) {
    const { values, positionals } = parseCommandArgs("request", ctx.argv, OPTIONS, true);
    if (positionals.length !== 1) {
      throw new UsageError(
        "request: give exactly one version, e.g. 'grapheon-tool request 0.10.4'",
      );
    }
    const backend = version("version", positionals[0]);
    const frontend = values.frontend === undefined
      ? backend
      : version("--frontend", values.frontend);
    const host = await hostFor(ctx);
    const { config } = host;
    let current: string | undefined;
    try {
      const res = await host.http(config.backend.healthUrl, { timeoutMs: 3000 });
      current = healthBodySchema.parse(JSON.parse(res.body)).version;
    } catch {
      ctx.log.warn(`${config.backend.healthUrl} did not answer; current_version will be null`);
    }
    const path = await writeRequest(config.dataDir, {
      backend,
      frontend,
      current,
      now: host.clock.now(),
    });
    const pathState = await host.systemd.activeState(PATH_UNIT).catch(() => "unknown");
    if (pathState !== "active") {
      ctx.log.warn(
        `${PATH_UNIT} is ${pathState}: nothing will start the upgrade; ` +
          `'systemctl enable --now ${PATH_UNIT}', or run 'grapheon-tool upgrade' by hand`,
      );
    }
    printResult(
      ctx,
      `upgrade to ${backend}${
        frontend !== backend ? ` / frontend ${frontend}` : ""
      } requested: ${path}`,
      {
        path,
        target_backend_version: backend,
        target_frontend_version: frontend,
        current_version: current ?? null,
        path_unit: pathState,
      },
    );
    return EXIT.OK;
  },
};
