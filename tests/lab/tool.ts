/**
 * grapheon-tool inside the lab host, installed the way users install it: the
 * same entry point (`main.ts`, run by the Deno binary bound at
 * /usr/local/bin/deno, because `deno compile` cannot get its runtime here) runs
 * `install --with-containers`, which writes the launcher at binPath, the units,
 * and starts the containers from the lab registry. Also the app's side of the
 * contract as the scenarios need it: a real SQLite `network.db` in the data
 * dir, the upgrade request posted to the fake backend, the status file.
 */
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { run } from "../../lib/host/exec.ts";
import type { Lab } from "./lab.ts";
import { SEED_VERSION } from "./images.ts";
import { StopWaiting, waitFor } from "./procs.ts";

/** Where the checkout is mounted inside the host. */
export const SRC_DIR = "/usr/local/src/grapheon-tool";
/** The Deno cache the tool runs with inside the host (zod, offline). */
export const HOST_DENO_DIR = "/var/cache/grapheon-lab/deno";
/** The installed tool (config `binPath` default). */
export const BIN = "/opt/grapheon/bin/grapheon-tool";
/** Host data dir (config default). */
export const DATA_DIR = "/var/lib/grapheon/data";
/** Tool state dir (config default). */
export const STATE_DIR = "/var/lib/grapheon-tool";
/** Backend health as seen on the host. */
export const HEALTH_URL = "http://127.0.0.1:8000/health";
/** Frontend as seen on the host. */
export const FRONTEND_URL = "http://127.0.0.1:8080/";
/** Rows the lab puts in network.db (checked in backups). */
export const SEED_ROWS = 3;

/** The tool config the lab writes: images from the lab registry, short health timeout. */
export function labToolConfig(lab: Lab): Record<string, unknown> {
  return {
    backend: { image: `${lab.registry}/grapheon-backend` },
    frontend: { image: `${lab.registry}/grapheon-frontend` },
    ...(lab.privateNetwork ? {} : { network: "host" }),
    // The shipped deadlines (health 120 s, canary 90 s): a bad release must be caught by what
    // it does (exits, answers 503), not by a deadline (issue 13); the fake releases start in < 7 s.
  };
}

async function buildMachineDenoDir(): Promise<string> {
  const fromEnv = Deno.env.get("DENO_DIR");
  if (fromEnv) return fromEnv;
  const r = await run([Deno.execPath(), "info", "--json"]);
  return (JSON.parse(r.stdout) as { denoDir: string }).denoDir;
}

/** A real SQLite database (WAL mode, like the app's) with a few rows, in the host's data dir. */
export async function seedDatabase(lab: Lab): Promise<void> {
  await Deno.mkdir(lab.hostPath(DATA_DIR), { recursive: true });
  // SQLite resolves symlinks in paths, and /proc/PID/root is one: build it here, copy it in.
  const tmp = join(lab.runDir, "network.db");
  const db = new DatabaseSync(tmp);
  try {
    db.exec("PRAGMA journal_mode=WAL");
    db.exec("CREATE TABLE IF NOT EXISTS hosts (id INTEGER PRIMARY KEY, ip TEXT NOT NULL)");
    for (let i = 1; i <= SEED_ROWS; i++) {
      db.prepare("INSERT INTO hosts (ip) VALUES (?)").run(`10.0.0.${i}`);
    }
  } finally {
    db.close();
  }
  await Deno.copyFile(tmp, lab.hostPath(join(DATA_DIR, "network.db")));
  await Deno.remove(tmp);
}

/** Rows of the `hosts` table in a database file on the host (a backup, say). */
export async function countRows(lab: Lab, pathInHost: string): Promise<number> {
  const tmp = join(lab.runDir, `check-${crypto.randomUUID()}.db`);
  await Deno.copyFile(lab.hostPath(pathInHost), tmp);
  try {
    const db = new DatabaseSync(tmp, { readOnly: true });
    try {
      return (db.prepare("SELECT count(*) AS n FROM hosts").get() as { n: number }).n;
    } finally {
      db.close();
    }
  } finally {
    await Deno.remove(tmp);
  }
}

/** Runs the tool inside the host (`BIN args…`, or from source before install). */
export function tool(lab: Lab, args: string[], options: { check?: boolean } = {}) {
  return lab.exec([BIN, ...args], { check: options.check ?? false, timeoutMs: 300_000 });
}

/** Copies the build machine's Deno cache (zod) into the host, for the tool to run offline. */
export async function copyDenoCache(lab: Lab): Promise<void> {
  const denoDir = lab.hostPath(HOST_DENO_DIR);
  await Deno.mkdir(denoDir, { recursive: true });
  await run(["cp", "-a", join(await buildMachineDenoDir(), "npm"), denoDir]);
}

/**
 * Installs the tool in the host: the Deno cache (zod) copied in, the lab
 * config, a seeded database, then `main.ts install --with-containers`, and
 * waits until the seed release serves on both ports.
 */
export async function installTool(lab: Lab): Promise<string> {
  await copyDenoCache(lab);
  await Deno.mkdir(lab.hostPath("/etc/grapheon"), { recursive: true });
  await Deno.writeTextFile(
    lab.hostPath("/etc/grapheon/grapheon-tool.json"),
    JSON.stringify(labToolConfig(lab), null, 2) + "\n",
  );
  await seedDatabase(lab);
  const install = await lab.exec([
    "/usr/local/bin/deno",
    "run",
    "-A",
    "--cached-only",
    `${SRC_DIR}/main.ts`,
    "install",
    "--with-containers",
  ], { env: { DENO_DIR: HOST_DENO_DIR }, timeoutMs: 300_000 });
  await waitForSeed(lab);
  return install.stdout + install.stderr;
}

/** Waits until the seed release serves on both ports (names the units' journals when not). */
export async function waitForSeed(lab: Lab): Promise<void> {
  await waitFor("the seed release to serve", async () => {
    const h = await backendHealth(lab);
    return h?.version === SEED_VERSION ? h : undefined;
  }, { timeoutMs: 90_000, intervalMs: 200 }).catch(async (err) => {
    throw new Error(
      `${err.message}\n${await lab.journal("grapheon-images.service")}\n${await lab.journal(
        "grapheon-backend.service",
      )}`,
    );
  });
  await waitFor("the frontend to answer", async () => {
    const r = await lab.exec(["curl", "-sf", FRONTEND_URL], { check: false });
    return r.code === 0 ? true : undefined;
  }, { timeoutMs: 60_000, intervalMs: 200 });
}

/** The backend's health body as seen on the host, or null when it does not answer 200. */
export async function backendHealth(lab: Lab): Promise<Record<string, unknown> | null> {
  const r = await lab.exec(["curl", "-sf", "-m", "5", HEALTH_URL], { check: false });
  if (r.code !== 0) return null;
  try {
    return JSON.parse(r.stdout);
  } catch {
    return null;
  }
}

/** The frontend page as seen on the host, or null. */
export async function frontendPage(lab: Lab): Promise<string | null> {
  const r = await lab.exec(["curl", "-sf", "-m", "5", FRONTEND_URL], { check: false });
  return r.code === 0 ? r.stdout : null;
}

/** The status file the UI reads (null when missing or unparseable). */
export async function readStatus(lab: Lab): Promise<Record<string, unknown> | null> {
  const text = await Deno.readTextFile(lab.hostPath(join(DATA_DIR, "upgrade-status.json")))
    .catch(() => null);
  if (text === null) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/**
 * Asks for an upgrade the way the web UI does: the fake backend (which runs
 * with DATA_DIR=/app/data) writes `upgrade-requested` into the data dir.
 */
export async function requestUpgradeViaApp(lab: Lab, version: string): Promise<void> {
  await lab.exec([
    "curl",
    "-sf",
    "-X",
    "POST",
    `http://127.0.0.1:8000/api/updates/upgrade?target=${version}`,
  ]);
}

/** Requests `version` through the app and waits for the job's end; returns the final status. */
export async function upgradeViaApp(lab: Lab, version: string): Promise<Record<string, unknown>> {
  const before = await currentJobId(lab);
  await requestUpgradeViaApp(lab, version);
  return await waitForOutcome(lab, { toVersion: version, afterJobId: before });
}

/** The state of a unit (`active`, `activating`, `inactive`, `failed`). */
export async function unitState(lab: Lab, unit: string): Promise<string> {
  const r = await lab.exec(["systemctl", "show", "-P", "ActiveState", unit], { check: false });
  return r.stdout.trim();
}

/**
 * Waits until a job other than `afterJobId` has ended for `toVersion`: the
 * status file is terminal for it, no request is pending and the upgrade
 * service is not running. Returns the final status.
 */
export async function waitForOutcome(
  lab: Lab,
  options: { toVersion: string; afterJobId: unknown; timeoutMs?: number },
): Promise<Record<string, unknown>> {
  return await waitFor(`the upgrade to ${options.toVersion} to end`, async () => {
    const s = await readStatus(lab);
    if (!s || s.job_id === options.afterJobId || s.to_version !== options.toVersion) {
      // Nothing will ever pick the request up if the path unit is dead: say so at once.
      if (await unitState(lab, "grapheon-upgrade.path") === "failed") {
        const why = await lab.exec(["systemctl", "show", "-P", "Result", "grapheon-upgrade.path"]);
        throw new StopWaiting(`grapheon-upgrade.path has failed (${why.stdout.trim()})`);
      }
      return undefined;
    }
    if (s.status !== "completed" && s.status !== "failed") return undefined;
    const pending = await Deno.lstat(lab.hostPath(join(DATA_DIR, "upgrade-requested")))
      .then(() => true, () => false);
    if (pending) return undefined;
    const state = await unitState(lab, "grapheon-upgrade.service");
    return state === "activating" || state === "active" ? undefined : s;
  }, { timeoutMs: options.timeoutMs ?? 180_000, intervalMs: 100 }).catch(async (err) => {
    throw new Error(
      `${err.message}\nstatus: ${JSON.stringify(await readStatus(lab))}\n${await lab.journal(
        "grapheon-upgrade.service",
        80,
      )}`,
    );
  });
}

/** The job id of the current status file (null when none). */
export async function currentJobId(lab: Lab): Promise<unknown> {
  return (await readStatus(lab))?.job_id ?? null;
}

/** Rewrites the tool config in the host with `extra` merged over the lab config. */
export async function writeToolConfig(lab: Lab, extra: Record<string, unknown>): Promise<void> {
  await Deno.writeTextFile(
    lab.hostPath("/etc/grapheon/grapheon-tool.json"),
    JSON.stringify({ ...labToolConfig(lab), ...extra }, null, 2) + "\n",
  );
}
