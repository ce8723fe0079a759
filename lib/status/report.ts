/**
 * The pure half of `grapheon-tool status`: the facts gathered from the host
 * (lib/status/facts.ts) in one plain object, and the problems found in them,
 * each with the fix an operator can type. Nothing here touches the host, so
 * every problem is tested from recorded `podman inspect` JSON and unit states.
 */
import { type Config, socketUnit } from "../config/mod.ts";
import { COMPONENTS } from "../core/mod.ts";
import { socketServerProblem } from "../release/mod.ts";
import type { HistoryEntry, Journal, StatusDoc } from "../job/mod.ts";
import type { ContainerInfo } from "../host/mod.ts";

/** The app's default DATA_DIR when the container does not set one (contract). */
export const APP_DEFAULT_DATA_DIR = "/data";
/** Disk is "nearly full" under this fraction free… */
export const DISK_MIN_FREE_FRACTION = 0.1;
/** …or under this many bytes free. */
export const DISK_MIN_FREE_BYTES = 2 * 1024 ** 3;
/** A request older than this with no upgrade running is stuck. */
export const REQUEST_STUCK_MS = 2 * 60_000;
/** The fixed name of the upgrade `.path` unit (lib/install/units.ts UNIT.path). */
export const PATH_UNIT = "grapheon-upgrade.path";
/** The fixed name of the upgrade service. */
export const UPGRADE_UNIT = "grapheon-upgrade.service";

/** One container as seen by podman, or null when there is none. */
export type ContainerFacts = ContainerInfo | null;

/** Free space where podman keeps images. */
export type DiskFacts =
  | { path: string; availBytes: number; sizeBytes: number }
  | { path: string; error: string };

/** The pending request file. */
export type RequestFacts =
  | { present: false }
  | {
    present: true;
    backend: string | null;
    frontend: string | null;
    requestedAt: string | null;
    error: string | null;
  };

/** Everything `status` looks at. */
export interface StatusFacts {
  /** When the facts were gathered. */
  now: string;
  /** Backend and frontend containers (inspect JSON). */
  containers: { backend: ContainerFacts; frontend: ContainerFacts };
  /** Tags of each running image (from `podman image inspect`). */
  imageTags: { backend: string[]; frontend: string[] };
  /** The running backend image's Entrypoint + Cmd (null: no container, or not inspectable). */
  backendCommand: string[] | null;
  /** Image ID `<image>:<runTag>` points at, null when the tag is missing. */
  runTagIds: { backend: string | null; frontend: string | null };
  /** ActiveState by unit name. */
  units: Record<string, string>;
  /** The backend's health answer. */
  health: { status: string | null; version: string | null; error: string | null };
  /** `realpath` of the config's data dir (null when it does not resolve). */
  dataDirReal: string | null;
  /** The pending upgrade request. */
  request: RequestFacts;
  /** The status file, null when absent. */
  status: StatusDoc | null;
  /** The journal, null when none. */
  journal: Journal | { corrupt: string } | null;
  /** Whether an upgrade or rollback holds the lock now (null: unknown). */
  lockHeld: boolean | null;
  /** The newest history entries, oldest first. */
  history: HistoryEntry[];
  /** A warning about an unreadable history file. */
  historyWarning: string | null;
  /** Snapshots in the tool's backups dir, oldest first. */
  backups: { name: string; bytes: number; mtime: string | null }[];
  /** Free space where images live. */
  disk: DiskFacts;
}

/** One problem and its fix. */
export interface Problem {
  /** Stable identifier (for scripts and tests). */
  id: string;
  /** `error`: something is broken or will break an upgrade; `warning`: worth a look. */
  severity: "error" | "warning";
  /** What is wrong, with the facts that show it. */
  message: string;
  /** What to run or change. */
  fix: string;
}

function strip(path: string): string {
  return path.length > 1 ? path.replace(/\/+$/, "") : path;
}

/** The container's `DATA_DIR` (the app's default when unset). */
export function containerDataDir(c: NonNullable<ContainerFacts>): string {
  const entry = (c.Config?.Env ?? []).findLast((e) => e.startsWith("DATA_DIR="));
  return entry ? entry.slice("DATA_DIR=".length) : APP_DEFAULT_DATA_DIR;
}

/**
 * The DATA_DIR check (the contract's upstream bug): the backend's `DATA_DIR`
 * must be the destination of a bind mount of the host data dir, or the app's
 * upgrade request never reaches the host. Null when fine.
 */
export function checkDataDir(
  c: NonNullable<ContainerFacts>,
  config: Config,
  dataDirReal: string | null,
): Problem | null {
  const dataDir = containerDataDir(c);
  const hostDirs = new Set([strip(config.dataDir), ...(dataDirReal ? [strip(dataDirReal)] : [])]);
  const mounts = c.Mounts ?? [];
  const atDataDir = mounts.find((m) => strip(m.Destination) === strip(dataDir));
  if (atDataDir && atDataDir.Source && hostDirs.has(strip(atDataDir.Source))) return null;
  const hostMount = mounts.find((m) => m.Source && hostDirs.has(strip(m.Source)));
  const set = (c.Config?.Env ?? []).some((e) => e.startsWith("DATA_DIR="));
  const found = `DATA_DIR=${dataDir}${set ? "" : " (unset: the app's default)"}, ` +
    (hostMount
      ? `${config.dataDir} is mounted at ${hostMount.Destination}`
      : `${config.dataDir} is not mounted in the container`) +
    (atDataDir ? `, ${dataDir} is a mount of ${atDataDir.Source ?? "a volume"}` : "");
  const target = hostMount?.Destination ?? config.backend.containerDataDir;
  return {
    id: "data-dir-not-mounted",
    severity: "error",
    message: `the backend's DATA_DIR does not point at the host data dir (${found}): ` +
      `the app writes its upgrade request and reads the upgrade status inside the container, ` +
      `so the web UI's "upgrade" never reaches the host`,
    fix: `set DATA_DIR=${target} in the backend container (the tool's units pass ` +
      `-e DATA_DIR=${config.backend.containerDataDir}; reinstall them with 'grapheon-tool install' ` +
      `or the NixOS module), or mount ${config.dataDir} at ${dataDir} too, then ` +
      `'systemctl restart ${config.backend.service}'`,
  };
}

function checkTags(facts: StatusFacts, config: Config): Problem[] {
  const out: Problem[] = [];
  for (const which of COMPONENTS) {
    const c = facts.containers[which];
    if (!c) continue;
    const want = `${config[which].image}:${config.runTag}`;
    const runs = (c.ImageName ?? "").replace(/^docker\.io\//, "");
    if (runs !== want) {
      out.push({
        id: `unpinned-tag-${which}`,
        severity: "error",
        message:
          `${config[which].service} runs ${runs || "an image by ID"}, not ${want}, the tag ` +
          `the tool points at each release: an upgrade would pull and tag the new release ` +
          `and change nothing that runs (the published units' :latest problem)`,
        fix: `install the tool's units, which run ${want} ('grapheon-tool install' or the ` +
          `NixOS module), then 'systemctl restart ${config[which].service}'`,
      });
      continue;
    }
    const tagged = facts.runTagIds[which];
    if (tagged !== c.Image) {
      out.push({
        id: `run-tag-drift-${which}`,
        severity: "warning",
        message: tagged === null
          ? `${want} does not exist, but ${config[which].container} runs image ${
            c.Image.slice(0, 12)
          }: the next restart of ${config[which].service} fails`
          : `${want} points at image ${tagged.slice(0, 12)} but ${config[which].container} runs ` +
            `${c.Image.slice(0, 12)}: the next restart switches release`,
        fix: `'podman tag ${c.Image.slice(0, 12)} ${want}' to keep what runs, or ` +
          `'grapheon-tool rollback --to X.Y.Z' to run a known release`,
      });
    }
  }
  return out;
}

function gib(bytes: number): string {
  return `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
}

/** The disk check: nearly full under 10% or under 2 GiB free. Null when fine. */
export function checkDisk(disk: DiskFacts): Problem | null {
  if ("error" in disk) {
    return {
      id: "disk-unknown",
      severity: "warning",
      message: `cannot read the free space of ${disk.path}: ${disk.error}`,
      fix: `check it by hand: 'df -h ${disk.path}'`,
    };
  }
  const fraction = disk.sizeBytes > 0 ? disk.availBytes / disk.sizeBytes : 0;
  if (fraction >= DISK_MIN_FREE_FRACTION && disk.availBytes >= DISK_MIN_FREE_BYTES) return null;
  return {
    id: "disk-low",
    severity: "error",
    message:
      `the disk where podman keeps images (${disk.path}) is nearly full: ${
        gib(disk.availBytes)
      } free of ${gib(disk.sizeBytes)} (${(fraction * 100).toFixed(1)}%); ` +
      `an upgrade pulls two images there and can fail half-way`,
    fix: `free space: 'podman image prune' (unused images), 'podman images' to find old ` +
      `releases to remove with 'podman rmi', or grow the filesystem`,
  };
}

function checkUnits(facts: StatusFacts, config: Config): Problem[] {
  const out: Problem[] = [];
  const pathState = facts.units[PATH_UNIT] ?? "unknown";
  if (pathState !== "active") {
    out.push({
      id: "upgrade-path-inactive",
      severity: "error",
      message: `${PATH_UNIT} is ${pathState}: an upgrade requested from the web UI is never ` +
        `started`,
      fix: pathState === "failed"
        // TriggerLimitBurst hit (a request that kept re-triggering): it stays failed until reset
        ? `'systemctl reset-failed ${PATH_UNIT} ${UPGRADE_UNIT}' then 'systemctl start ` +
          `${PATH_UNIT}' (check 'journalctl -u ${UPGRADE_UNIT}' for why it kept re-running)`
        : `'systemctl enable --now ${PATH_UNIT}' (install it with 'grapheon-tool install' or ` +
          `the NixOS module if it is missing)`,
    });
  }
  const socket = socketUnit(config.backend.service);
  const socketState = facts.units[socket] ?? "unknown";
  if (socketState !== "active") {
    out.push({
      id: "backend-socket-inactive",
      severity: "error",
      message: `${socket} is ${socketState}: nothing holds the backend's port, so ` +
        `connections are refused (and a restart of the backend fails: it Requires= the socket)`,
      fix: `'systemctl reset-failed ${socket} ${config.backend.service}' then 'systemctl start ` +
        `${socket}' ('journalctl -u ${socket}' says why it stopped: a port already in use?)`,
    });
  }
  for (const which of COMPONENTS) {
    const unit = config[which].service;
    const state = facts.units[unit] ?? "unknown";
    const c = facts.containers[which];
    if (state !== "active" || !c?.State.Running) {
      out.push({
        id: `${which}-down`,
        severity: "error",
        message: `${unit} is ${state}, container ${config[which].container} is ${
          c ? c.State.Status : "missing"
        }`,
        fix: `'journalctl -u ${unit} -n 50' and 'podman logs --tail 50 ${
          config[which].container
        }'; 'systemctl restart ${unit}', or 'grapheon-tool rollback' if a new release broke it`,
      });
    }
  }
  return out;
}

function checkHealth(facts: StatusFacts, config: Config): Problem | null {
  const { status, error } = facts.health;
  if (status !== null && config.health.acceptStatus.includes(status)) return null;
  return {
    id: "backend-unhealthy",
    severity: "error",
    message: status === null
      ? `${config.backend.healthUrl} does not answer: ${error ?? "no answer"}`
      : `${config.backend.healthUrl} reports status ${status}`,
    fix: `'curl -s ${config.backend.healthUrl}' for the failing check, ` +
      `'podman logs --tail 50 ${config.backend.container}'; 'grapheon-tool rollback' if the ` +
      `last upgrade caused it`,
  };
}

function ageMs(iso: string | null | undefined, now: string): number | null {
  if (!iso) return null;
  const t = Date.parse(iso);
  return Number.isFinite(t) ? Date.parse(now) - t : null;
}

function checkJob(facts: StatusFacts): Problem[] {
  const out: Problem[] = [];
  const running = facts.lockHeld === true;
  const j = facts.journal;
  if (j && "corrupt" in j) {
    out.push({
      id: "journal-corrupt",
      severity: "error",
      message: `the upgrade journal is unreadable: ${j.corrupt}`,
      fix: "read it, move it out of the state dir, and check what runs with 'grapheon-tool status'",
    });
  } else if (j && !running) {
    out.push({
      id: "job-interrupted",
      severity: "error",
      message: `${j.kind} ${j.id} (${j.trigger}, started ${j.startedAt}) was interrupted at ` +
        `phase ${j.phase} (attempt ${j.attempts}): backend ${j.from.backend.version ?? "?"} → ` +
        `${j.to.backend.version ?? "?"}`,
      fix: j.kind === "rollback"
        ? `'grapheon-tool rollback' finishes it (to ${j.to.backend.version ?? "its target"})`
        : `'systemctl start ${UPGRADE_UNIT}' finishes it (or rolls it back); or ` +
          `'grapheon-tool rollback' to go back to ${
            j.from.backend.version ?? "the release before it"
          }`,
    });
  }
  if (facts.request.present) {
    const r = facts.request;
    if (r.error) {
      out.push({
        id: "request-invalid",
        severity: "error",
        message: `the upgrade request is invalid: ${r.error}`,
        fix: "'grapheon-tool rollback --clear' removes it (archived in the state dir); " +
          "'grapheon-tool request X.Y.Z' writes a valid one",
      });
    } else if (!running && (ageMs(r.requestedAt, facts.now) ?? 0) > REQUEST_STUCK_MS) {
      out.push({
        id: "request-stuck",
        severity: "warning",
        message: `an upgrade to ${r.backend} was requested at ${r.requestedAt} and no upgrade ` +
          `is running`,
        fix:
          `'systemctl status ${PATH_UNIT} ${UPGRADE_UNIT}' and 'journalctl -u ${UPGRADE_UNIT}'; ` +
          `'systemctl start ${UPGRADE_UNIT}' to run it now, or 'grapheon-tool rollback --clear' ` +
          `to drop it`,
      });
    }
  }
  const s = facts.status;
  if (s && !running && !(j && !("corrupt" in j))) {
    if (s.status === "running") {
      out.push({
        id: "status-stuck",
        severity: "error",
        message: `the upgrade status says running (step ${s.step ?? "?"}, updated ${
          s.updated_at ?? "?"
        }) but no upgrade is running: the web UI waits forever`,
        fix: "'grapheon-tool rollback --clear' (the contract's manual recovery)",
      });
    } else if (!["completed", "failed"].includes(s.status)) {
      out.push({
        id: "status-unreadable",
        severity: "error",
        message: `the upgrade status file is not one the web UI understands (status ${s.status}` +
          `${s.message ? `: ${s.message}` : ""})`,
        fix: "'grapheon-tool rollback --clear' removes it",
      });
    }
  }
  if (facts.historyWarning) {
    out.push({
      id: "history-unreadable",
      severity: "warning",
      message: facts.historyWarning,
      fix: "move the file aside; the next job starts a new history (rollback needs it or --to)",
    });
  }
  return out;
}

function checkSocketServer(facts: StatusFacts): Problem | null {
  if (facts.backendCommand === null) return null;
  const problem = socketServerProblem({ Config: { Cmd: facts.backendCommand } });
  if (problem === null) return null;
  return {
    id: "backend-not-socket-server",
    severity: "error",
    message: `the running backend ${problem}: the host's port queues connections nobody accepts`,
    fix: "'grapheon-tool rollback' to the release before: the backend unit hands the port " +
      "to the container as a socket (UVICORN_FD=3), which only uvicorn serves",
  };
}

/** Every problem in the facts, errors first. */
export function detectProblems(facts: StatusFacts, config: Config): Problem[] {
  const out: Problem[] = [];
  const backend = facts.containers.backend;
  if (backend) {
    const p = checkDataDir(backend, config, facts.dataDirReal);
    if (p) out.push(p);
  }
  out.push(...checkUnits(facts, config));
  const server = checkSocketServer(facts);
  if (server) out.push(server);
  const health = checkHealth(facts, config);
  if (health) out.push(health);
  out.push(...checkTags(facts, config));
  const disk = checkDisk(facts.disk);
  if (disk) out.push(disk);
  out.push(...checkJob(facts));
  return out.sort((a, b) => (a.severity === b.severity ? 0 : a.severity === "error" ? -1 : 1));
}
