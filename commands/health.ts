/**
 * `grapheon-tool health`: polls health URLs until they pass or a deadline, for
 * scripts and `ExecStartPost`. Defaults poll the backend health URL from the
 * config and accept the contract's healthy/degraded.
 */
import {
  type CommandContext,
  type CommandSpec,
  durationFlag,
  intFlag,
  jsonText,
  parseCommandArgs,
  versionFlag,
} from "../lib/cli/mod.ts";
import { loadConfig } from "../lib/config/mod.ts";
import { EXIT, formatDuration, ms, UsageError } from "../lib/core/mod.ts";
import { type Attempt, type HealthExpectation, pollHealth } from "../lib/health/mod.ts";
import { realHost } from "../lib/host/mod.ts";

const HELP = `Usage: grapheon-tool health [URL…] [options]

Polls each URL until all pass, or the deadline. Without URLs, polls the backend
health URL from the config (default http://localhost:8000/health).

Options:
  --timeout D           give up after D (default 60s)
  --interval D          longest pause between rounds (default 100ms; starts at 10ms,
                        backs off to D, and drops back when the answer changes)
  --request-timeout D   per-request timeout (default: config timeouts.healthRequest, 5s)
  --expect-status LIST  accepted HTTP status codes (default 200)
  --expect-json K=V,V   JSON field K must be one of the values; repeatable
                        (default: a JSON body's status must be one of the config's
                        health.acceptStatus, healthy,degraded)
  --expect-version V    the body's version must be V (X.Y.Z)
  --consecutive N       passing rounds needed in a row (default 1)
  --start-period D      failures in the first D are expected and logged quietly (default 0)
  --once                one round, no waiting
  --json                print the result with every attempt and its timing

Durations: 500ms, 5s, 2m. Exit codes: 0 healthy, 1 not healthy by the deadline,
2 bad arguments, 3 bad config.`;

function parseStatuses(text: string): number[] {
  const codes = text.split(",").map((s) => s.trim());
  if (codes.some((c) => !/^[1-5]\d\d$/.test(c))) {
    throw new UsageError(`--expect-status: expected HTTP codes such as 200,204, got "${text}"`);
  }
  return codes.map(Number);
}

function parseJsonExpectations(items: string[], acceptStatus: string[]): Record<string, string[]> {
  const out: Record<string, string[]> = { status: acceptStatus };
  for (const item of items) {
    const m = /^([A-Za-z0-9_.]+)=(.+)$/.exec(item);
    if (!m) throw new UsageError(`--expect-json: expected KEY=VALUE[,VALUE], got "${item}"`);
    out[m[1]] = m[2].split(",").map((v) => v.trim());
  }
  return out;
}

function describe(a: Attempt): string {
  return a.ok
    ? `ok (${a.bodyStatus ?? a.httpStatus}${a.version ? ` ${a.version}` : ""})`
    : a.reason ?? "failed";
}

/** Logs an attempt only when its outcome differs from the previous one for that URL. */
function attemptLogger(ctx: CommandContext) {
  const last = new Map<string, string>();
  return (a: Attempt, inStartPeriod: boolean) => {
    const text = describe(a);
    if (last.get(a.url) === text) return;
    last.set(a.url, text);
    const line = `attempt ${a.round} at ${formatDuration(a.atMs)}: ${a.url}: ${text}`;
    if (a.ok || inStartPeriod) ctx.log.debug(line);
    else ctx.log.info(line);
  };
}

/** The command's own options (main.ts parses them with the global ones). */
const OPTIONS = {
  timeout: { type: "string" },
  interval: { type: "string" },
  "request-timeout": { type: "string" },
  "expect-status": { type: "string" },
  "expect-json": { type: "string", multiple: true },
  "expect-version": { type: "string" },
  consecutive: { type: "string" },
  "start-period": { type: "string" },
  once: { type: "boolean" },
} as const;

/** The `health` command. */
export const healthCommand: CommandSpec = {
  name: "health",
  options: OPTIONS,
  positionals: true,
  help: HELP,
  async run(ctx) {
    const { values, positionals } = parseCommandArgs("health", ctx.argv, OPTIONS, true);
    const { config } = await loadConfig(ctx.global.configPath);
    const urls = positionals.length ? positionals : [config.backend.healthUrl];
    for (const url of urls) {
      if (!/^https?:\/\/\S+$/.test(url)) throw new UsageError(`not an http(s) URL: "${url}"`);
    }
    const version = versionFlag("expect-version", values["expect-version"]);
    const expect: HealthExpectation = {
      httpStatuses: parseStatuses(values["expect-status"] ?? "200"),
      json: parseJsonExpectations(values["expect-json"] ?? [], config.health.acceptStatus),
      version,
    };
    const consecutive = intFlag("consecutive", values.consecutive, 1);
    if (consecutive < 1) throw new UsageError("--consecutive: must be at least 1");
    const host = realHost(config, ctx.log);
    const result = await pollHealth({
      urls,
      expect,
      timeoutMs: durationFlag("timeout", values.timeout, 60_000),
      intervalMs: durationFlag("interval", values.interval, 100),
      requestTimeoutMs: durationFlag(
        "request-timeout",
        values["request-timeout"],
        ms(config.timeouts.healthRequest),
      ),
      consecutive,
      startPeriodMs: durationFlag("start-period", values["start-period"], 0),
      once: values.once ?? false,
      http: host.http,
      clock: host.clock,
      onAttempt: attemptLogger(ctx),
    });
    const last = result.attempts.filter((a) => a.round === result.rounds);
    if (ctx.global.json) {
      ctx.out(jsonText(
        {
          healthy: result.healthy,
          elapsed_ms: result.elapsedMs,
          rounds: result.rounds,
          urls,
          last_reason: result.healthy ? null : result.lastReason ?? null,
          attempts: result.attempts.map((a) => ({
            round: a.round,
            url: a.url,
            at_ms: a.atMs,
            duration_ms: a.durationMs,
            ok: a.ok,
            reason: a.reason ?? null,
            http_status: a.httpStatus ?? null,
            status: a.bodyStatus ?? null,
            version: a.version ?? null,
          })),
        },
      ));
    } else if (result.healthy) {
      const detail = last.map((a) => `${a.url} ${describe(a)}`).join("; ");
      ctx.out(
        `healthy after ${formatDuration(result.elapsedMs)} (${result.rounds} rounds): ${detail}`,
      );
    } else {
      ctx.out(
        `not healthy after ${formatDuration(result.elapsedMs)} (${result.rounds} rounds): ` +
          last.filter((a) => !a.ok).map((a) => `${a.url}: ${a.reason}`).join("; "),
      );
    }
    return result.healthy ? EXIT.OK : EXIT.FAILURE;
  },
};
