/**
 * `grapheon-tool status`: what runs and what is wrong, for an operator at a
 * terminal or a monitoring script (`--json`, exit code). Gathers the facts
 * (lib/status/facts.ts), finds the problems with their fixes
 * (lib/status/report.ts), prints both. Changes nothing and takes no lock.
 */
import { type CommandSpec, intFlag, parseCommandArgs, printResult } from "../lib/cli/mod.ts";
import type { Config } from "../lib/config/mod.ts";
import { COMPONENTS, EXIT, linesForTerminal } from "../lib/core/mod.ts";
import {
  containerDataDir,
  detectProblems,
  gatherStatusFacts,
  historyJson,
  historyLines,
  pairJson,
  PATH_UNIT,
  type Problem,
  type StatusFacts,
} from "../lib/status/mod.ts";
import { hostFor } from "../lib/host/mod.ts";
import { versionFromTags } from "../lib/release/mod.ts";

const HELP = `Usage: grapheon-tool status [--history N] [--json]

Shows what runs (backend version from its health endpoint, image IDs and tags
from podman, unit states from systemd), the pending upgrade request, the last
upgrade status, an interrupted upgrade, the last upgrades and rollbacks, the
database snapshots on disk, and every problem found with the command that fixes
it. Checks, among others: the backend's DATA_DIR is a mount of the host data dir
(else the web UI's upgrade request never reaches the host), grapheon-upgrade.path
is active, the units run the tag the tool pins, the disk where podman keeps
images has room (10% and 2 GiB free), health, stale requests and statuses.
Changes nothing.

Options:
  --history N   history entries shown (default 5)
  --json        the same as one JSON document

Exit codes: 0 no problems, 1 problems found (listed with their fixes), 3 bad config.`;

function component(facts: StatusFacts, config: Config, which: "backend" | "frontend") {
  const c = facts.containers[which];
  const tags = facts.imageTags[which];
  const fromTags = versionFromTags(tags, config[which].image);
  const fromHealth = which === "backend" ? facts.health.version : null;
  return {
    version: fromHealth ?? fromTags,
    version_source: fromHealth ? "health" : fromTags ? "tags" : "none",
    image_id: c?.Image ?? null,
    image_name: c?.ImageName ?? null,
    image_tags: tags,
    container: config[which].container,
    container_state: c ? c.State.Status : "missing",
    started_at: c?.State.StartedAt ?? null,
    unit: config[which].service,
    unit_state: facts.units[config[which].service] ?? "unknown",
    ...(which === "backend" && c ? { data_dir: containerDataDir(c) } : {}),
  };
}

function toJson(facts: StatusFacts, config: Config, problems: Problem[]) {
  const j = facts.journal;
  return {
    ok: problems.length === 0,
    checked_at: facts.now,
    backend: component(facts, config, "backend"),
    frontend: component(facts, config, "frontend"),
    health: facts.health,
    units: facts.units,
    upgrade: {
      running: facts.lockHeld,
      request: facts.request.present
        ? {
          present: true,
          backend: facts.request.backend,
          frontend: facts.request.frontend,
          requested_at: facts.request.requestedAt,
          error: facts.request.error,
        }
        : { present: false },
      status: facts.status,
      journal: j === null ? null : "corrupt" in j ? { corrupt: j.corrupt } : {
        id: j.id,
        kind: j.kind,
        trigger: j.trigger,
        phase: j.phase,
        attempts: j.attempts,
        started_at: j.startedAt,
        from: pairJson(j.from),
        to: pairJson(j.to),
        interrupted: facts.lockHeld !== true,
      },
    },
    history: facts.history.map(historyJson),
    backups: facts.backups,
    disk: "error" in facts.disk ? { path: facts.disk.path, error: facts.disk.error } : {
      path: facts.disk.path,
      avail_bytes: facts.disk.availBytes,
      size_bytes: facts.disk.sizeBytes,
    },
    problems,
  };
}

function gib(bytes: number): string {
  return `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
}

function humanLines(facts: StatusFacts, config: Config, problems: Problem[]): string[] {
  const out: string[] = [];
  for (const which of COMPONENTS) {
    const c = component(facts, config, which);
    const health = which === "backend"
      ? `, health ${facts.health.status ?? `none (${facts.health.error ?? "?"})`}`
      : "";
    out.push(
      `${which.padEnd(9)}${c.version ?? "unknown version"}${health}; ${c.unit} ${c.unit_state}, ` +
        `container ${c.container_state}` +
        (c.image_id ? `, image ${c.image_id.slice(0, 12)} (${c.image_name ?? "?"})` : ""),
    );
  }
  const running = facts.lockHeld ? "an upgrade or rollback is running" : "no upgrade running";
  out.push(`upgrade  ${PATH_UNIT} ${facts.units[PATH_UNIT] ?? "unknown"}; ${running}`);
  const r = facts.request;
  out.push(
    `request  ${
      !r.present
        ? "none"
        : r.error
        ? `invalid: ${r.error}`
        : `${r.backend}${
          r.frontend !== r.backend ? ` / frontend ${r.frontend}` : ""
        } requested at ${r.requestedAt ?? "?"}`
    }`,
  );
  const s = facts.status;
  out.push(
    `status   ${
      s ? `${s.status} (step ${s.step ?? "?"}, ${s.updated_at ?? "?"}): ${s.message ?? ""}` : "none"
    }`,
  );
  const j = facts.journal;
  if (j) {
    out.push(
      `journal  ${
        "corrupt" in j
          ? `unreadable: ${j.corrupt}`
          : `${j.kind} ${j.id} at phase ${j.phase}${
            facts.lockHeld ? " (running)" : " (interrupted)"
          }`
      }`,
    );
  }
  out.push("history");
  for (const line of historyLines(facts.history, false)) out.push(`  ${line}`);
  out.push(`backups  ${facts.backups.length} snapshot(s) in ${config.stateDir}/backups`);
  for (const b of facts.backups.slice().reverse()) out.push(`  ${b.name} (${b.bytes} bytes)`);
  const d = facts.disk;
  out.push(
    `disk     ${
      "error" in d ? `unknown (${d.error})` : `${gib(d.availBytes)} free of ${gib(d.sizeBytes)}`
    } at ${d.path}`,
  );
  out.push("");
  if (problems.length === 0) out.push("no problems found");
  else {
    out.push(`${problems.length} problem(s):`);
    for (const p of problems) {
      out.push(`  ${p.severity}: ${p.message}`, `    fix: ${p.fix}`);
    }
  }
  return out;
}

/** The command's own options (main.ts parses them with the global ones). */
const OPTIONS = { history: { type: "string" } } as const;

/** The `status` command. */
export const statusCommand: CommandSpec = {
  name: "status",
  options: OPTIONS,
  help: HELP,
  async run(ctx) {
    const { values } = parseCommandArgs("status", ctx.argv, OPTIONS);
    const historyLimit = intFlag("history", values.history, 5);
    const host = await hostFor(ctx);
    const { config } = host;
    const facts = await gatherStatusFacts(host, { historyLimit });
    const problems = detectProblems(facts, config);
    printResult(
      ctx,
      // Every line may carry text others wrote (status message, request, health body).
      linesForTerminal(humanLines(facts, config, problems).join("\n")),
      toJson(facts, config, problems),
    );
    return problems.length ? EXIT.FAILURE : EXIT.OK;
  },
};
