/**
 * Building a harness host: the tool config (small timeouts, the doubles as
 * commands), the seeded database, the registry and the unit definitions. Pure
 * set-up; `Harness.create` in harness.ts puts it together.
 */
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { type Config, parseConfig, socketUnit } from "../../lib/config/config.ts";
import {
  DEFAULT_BACKEND_RELEASES,
  DEFAULT_FRONTEND_RELEASES,
  registryEntries,
  type ReleaseTable,
} from "./releases.ts";
import type { Component, Release, Unit } from "./state.ts";

/** The directory holding the `podman`, `systemctl` and `df` doubles. */
export const HARNESS_BIN = join(import.meta.dirname!, "bin");
/** The repository root. */
export const REPO_ROOT = join(import.meta.dirname!, "..", "..");
/** The tool's entry point. */
export const MAIN_TS = join(REPO_ROOT, "main.ts");
/** The path unit that starts the upgrade service when the request file appears. */
export const PATH_UNIT = "grapheon-upgrade.path";
/** The oneshot service that runs `grapheon-tool upgrade`. */
export const UPGRADE_UNIT = "grapheon-upgrade.service";

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Deep merge of plain objects (arrays and scalars from `over` replace). */
export function deepMerge(
  base: Record<string, unknown>,
  over: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    out[k] = isObject(v) && isObject(out[k]) ? deepMerge(out[k] as Record<string, unknown>, v) : v;
  }
  return out;
}

/** The harness config: small timeouts, the doubles, paths in `dir`; then `overrides`, validated. */
export async function writeHarnessConfig(options: {
  dir: string;
  ports: Record<Component, number>;
  overrides: Record<string, unknown>;
}): Promise<{ config: Config; path: string }> {
  const { dir, ports } = options;
  const base: Record<string, unknown> = {
    dataDir: join(dir, "data"),
    stateDir: join(dir, "tool-state"),
    binPath: join(dir, "bin", "grapheon-tool"),
    envFile: join(dir, "grapheon.env"),
    backend: { healthUrl: `http://127.0.0.1:${ports.backend}/health` },
    frontend: { url: `http://127.0.0.1:${ports.frontend}/` },
    timeouts: {
      pull: "3s",
      pullRetries: 1,
      restart: "10s",
      health: "5s",
      healthRequest: "1s",
      canary: "5s",
      stop: "2s",
    },
    commands: {
      podman: join(HARNESS_BIN, "podman"),
      systemctl: join(HARNESS_BIN, "systemctl"),
      df: join(HARNESS_BIN, "df"),
      journalctl: join(HARNESS_BIN, "journalctl"),
    },
  };
  const path = join(dir, "grapheon-tool.json");
  const text = JSON.stringify(deepMerge(base, options.overrides), null, 2) + "\n";
  const config = parseConfig(text, path);
  await Deno.writeTextFile(path, text);
  return { config, path };
}

/** Creates `network.db` in WAL mode with a small `hosts` table, as a used install has. */
export function seedDatabase(path: string): void {
  const db = new DatabaseSync(path);
  try {
    db.exec("PRAGMA journal_mode = WAL");
    db.exec("CREATE TABLE hosts (id INTEGER PRIMARY KEY, name TEXT NOT NULL, ip TEXT NOT NULL)");
    const insert = db.prepare("INSERT INTO hosts (name, ip) VALUES (?, ?)");
    for (let i = 1; i <= 5; i++) insert.run(`host-${i}`, `10.0.0.${i}`);
  } finally {
    db.close();
  }
}

/** Registry entries for both components: the defaults (unless dropped) plus the test's releases. */
export async function seedRegistry(options: {
  config: Config;
  releases?: ReleaseTable;
  noDefaultReleases?: boolean;
  latest?: Partial<Record<Component, string>>;
}): Promise<Record<string, Release>> {
  const out: Record<string, Release> = {};
  let backendLatest: string | undefined;
  for (const component of ["backend", "frontend"] as const) {
    const defaults = component === "backend" ? DEFAULT_BACKEND_RELEASES : DEFAULT_FRONTEND_RELEASES;
    Object.assign(
      out,
      await registryEntries({
        component,
        image: options.config[component].image,
        releases: {
          ...(options.noDefaultReleases ? {} : defaults),
          ...(options.releases?.[component] ?? {}),
        },
        // The frontend's :latest follows the backend's when it has that version (one release).
        latest: options.latest?.[component] ??
          (component === "frontend" &&
              backendLatest &&
              (options.releases?.frontend?.[backendLatest] ||
                (!options.noDefaultReleases && DEFAULT_FRONTEND_RELEASES[backendLatest]))
            ? backendLatest
            : undefined),
      }),
    );
    if (component === "backend") {
      backendLatest = out[`${options.config.backend.image}:latest`]?.version;
    }
  }
  return out;
}

/**
 * The units of an installed host: the two container units (as the published
 * units run them), `grapheon-upgrade.path` (active) and
 * `grapheon-upgrade.service` (a oneshot running `main.ts upgrade`).
 */
export function unitDefinitions(options: {
  config: Config;
  ports: Record<Component, number>;
  backendUnitEnv: string[];
}): Record<string, Unit> {
  const { config, ports } = options;
  return {
    [config.backend.service]: {
      kind: "container",
      activeState: "inactive",
      enabled: true,
      component: "backend",
      container: config.backend.container,
      image: config.backend.image,
      runTag: config.runTag,
      hostPort: ports.backend,
      containerPort: config.backend.port,
      env: [`DATA_DIR=${config.backend.containerDataDir}`, ...options.backendUnitEnv],
      envFiles: [config.envFile],
      volumes: [`${config.dataDir}:${config.backend.containerDataDir}`],
      starts: 0,
    },
    [config.frontend.service]: {
      kind: "container",
      activeState: "inactive",
      enabled: true,
      component: "frontend",
      container: config.frontend.container,
      image: config.frontend.image,
      runTag: config.runTag,
      hostPort: ports.frontend,
      containerPort: config.frontend.port,
      env: [],
      envFiles: [],
      volumes: [],
      starts: 0,
    },
    // The backend's listening socket (units/grapheon-backend.socket): here a plain unit, since
    // the harness's containers bind their own ports; socket activation is proven in the lab.
    [socketUnit(config.backend.service)]: {
      kind: "plain",
      activeState: "active",
      enabled: true,
      starts: 1,
    },
    [PATH_UNIT]: { kind: "plain", activeState: "active", enabled: true, starts: 1 },
    [UPGRADE_UNIT]: {
      kind: "plain",
      activeState: "inactive",
      enabled: false,
      starts: 0,
      exec: [Deno.execPath(), "run", "-A", "--quiet", MAIN_TS, "upgrade"],
    },
  };
}
