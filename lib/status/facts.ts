/**
 * The effectful half of `grapheon-tool status`: gathers every fact through the
 * host adapters (podman, systemctl, HTTP, df, the state and data dirs) into one
 * `StatusFacts` object. A fact that cannot be read is recorded as unknown, never
 * fatal: status is what an operator runs when things are already broken.
 */
import { socketUnit } from "../config/mod.ts";
import { join } from "node:path";
import { listBackups } from "../release/mod.ts";
import { diskSpace, type Host, lstatOrNull } from "../host/mod.ts";
import { errorMessage } from "../core/mod.ts";
import { healthBodySchema } from "../health/mod.ts";
import {
  lockHeld,
  parseRequest,
  readHistory,
  readJournal,
  readRequestText,
  readStatus,
  requestPath,
} from "../job/mod.ts";
import { PATH_UNIT, type RequestFacts, type StatusFacts, UPGRADE_UNIT } from "./report.ts";

/** Where podman keeps images when `podman info` does not say (podman's rootful default). */
export const DEFAULT_GRAPH_ROOT = "/var/lib/containers/storage";

/** A request that is there but cannot be read or parsed. */
function unreadable(err: unknown): RequestFacts {
  return {
    present: true,
    backend: null,
    frontend: null,
    requestedAt: null,
    error: errorMessage(err),
  };
}

async function readRequestFacts(dataDir: string): Promise<RequestFacts> {
  let text: string | null;
  try {
    text = await readRequestText(dataDir);
  } catch (err) {
    return unreadable(err);
  }
  if (text === null) return { present: false };
  try {
    const r = parseRequest(text, requestPath(dataDir));
    return {
      present: true,
      backend: r.backend,
      frontend: r.frontend,
      // a bare-version request says nothing about when: the file's time stands in
      requestedAt: r.requestedAt ??
        (await lstatOrNull(requestPath(dataDir)).catch(() => null))?.mtime?.toISOString() ?? null,
      error: null,
    };
  } catch (err) {
    return unreadable(err);
  }
}

async function health(host: Host): Promise<StatusFacts["health"]> {
  try {
    const res = await host.http(host.config.backend.healthUrl, {
      timeoutMs: 3000,
    });
    let body: unknown;
    try {
      body = JSON.parse(res.body);
    } catch {
      return { status: null, version: null, error: `HTTP ${res.status}, body is not JSON` };
    }
    const parsed = healthBodySchema.safeParse(body);
    if (!parsed.success) {
      return { status: null, version: null, error: `HTTP ${res.status}, unexpected body` };
    }
    return { status: parsed.data.status, version: parsed.data.version ?? null, error: null };
  } catch (err) {
    return { status: null, version: null, error: errorMessage(err) };
  }
}

async function unitState(host: Host, unit: string): Promise<string> {
  return await host.systemd.activeState(unit).catch(() => "unknown");
}

/** Gathers the facts; `historyLimit` newest history entries are kept. */
export async function gatherStatusFacts(
  host: Host,
  options: { historyLimit: number },
): Promise<StatusFacts> {
  const { config } = host;
  const inspect = (name: string) => host.podman.inspectContainer(name).catch(() => null);
  const [backend, frontend] = await Promise.all([
    inspect(config.backend.container),
    inspect(config.frontend.container),
  ]);
  const image = (id: string | undefined) =>
    id ? host.podman.inspectImage(id).catch(() => null) : Promise.resolve(null);
  const runTagId = (which: "backend" | "frontend") =>
    host.podman.imageId(`${config[which].image}:${config.runTag}`).catch(() => null);
  const units = [
    config.backend.service,
    socketUnit(config.backend.service),
    config.frontend.service,
    PATH_UNIT,
    UPGRADE_UNIT,
  ];
  const [backendImage, frontendImage, backendRun, frontendRun, states, healthFacts, graphRoot] =
    await Promise.all([
      image(backend?.Image),
      image(frontend?.Image),
      runTagId("backend"),
      runTagId("frontend"),
      Promise.all(units.map((u) => unitState(host, u))),
      health(host),
      host.podman.graphRoot().catch(() => null),
    ]);
  const diskPath = graphRoot ?? DEFAULT_GRAPH_ROOT;
  let disk: StatusFacts["disk"];
  try {
    const d = await diskSpace(host.run, { df: config.commands.df, path: diskPath });
    disk = { path: d.path, availBytes: d.availBytes, sizeBytes: d.sizeBytes };
  } catch (err) {
    disk = { path: diskPath, error: errorMessage(err) };
  }
  const history = await readHistory(config.stateDir);
  const backups = await listBackups(join(config.stateDir, "backups")).catch(() => []);
  return {
    now: host.clock.now().toISOString(),
    containers: { backend, frontend },
    imageTags: { backend: backendImage?.RepoTags ?? [], frontend: frontendImage?.RepoTags ?? [] },
    backendCommand: backendImage
      ? [...(backendImage.Config?.Entrypoint ?? []), ...(backendImage.Config?.Cmd ?? [])]
      : null,
    runTagIds: { backend: backendRun, frontend: frontendRun },
    units: Object.fromEntries(units.map((u, i) => [u, states[i]])),
    health: healthFacts,
    dataDirReal: await Deno.realPath(config.dataDir).catch(() => null),
    request: await readRequestFacts(config.dataDir),
    status: await readStatus(config.dataDir),
    journal: await readJournal(config.stateDir),
    lockHeld: await lockHeld(config.stateDir),
    history: history.entries.slice(-options.historyLimit),
    historyWarning: history.warning ?? null,
    backups: backups.map((b) => ({
      name: b.name,
      bytes: b.bytes,
      mtime: b.mtime?.toISOString() ?? null,
    })),
    disk,
  };
}
