/**
 * A fake Graphēon container process, started detached by the doubles with one
 * JSON argument (containers.ts `AppSpec`). The backend answers `/health` and
 * `/api/health` with the contract's body for its release's behaviour, applies a
 * "migration" to `network.db` at start-up (like the real app, which changes the
 * schema itself) and keeps writing to it while it runs, so backups are taken
 * from a live WAL database. The frontend answers 200 on every path but
 * `/api/`, which it proxies to the backend container (502 when that is down).
 *
 * Behaviours: healthy, degraded (200), unhealthy (503), crash (migrates, then
 * exits 1), wrong-version (reports `reportVersion`), slow-start (listens after
 * `startDelayMs`), needs-jwt (exits 1 unless JWT_SECRET is set and not
 * "change-me"), hang (accepts connections, never answers). The backend also
 * serves the update endpoints (fake_updates_api.ts). Any serving
 * behaviour with `crashAfterMs` exits 1 that long after it started listening.
 */
import { DatabaseSync } from "node:sqlite";
import type { AppSpec } from "./containers.ts";
import { updatesApi } from "./fake_updates_api.ts";
import { readState } from "./state.ts";

const spec = JSON.parse(Deno.args[0]) as AppSpec;
const release = spec.image;
const started = Date.now();
const env = new Map(spec.env.map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]));

function log(line: string): void {
  try {
    Deno.writeTextFileSync(spec.logFile, `${line}\n`, { append: true });
  } catch { /* log dir removed: the harness is closing */ }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The host path behind a container path, through the bind mounts; null if not mounted. */
function hostPath(containerPath: string): string | null {
  for (const m of spec.mounts) {
    const d = m.Destination.replace(/\/$/, "");
    if (containerPath === d || containerPath.startsWith(d + "/")) {
      return m.Source.replace(/\/$/, "") + containerPath.slice(d.length);
    }
  }
  return null;
}

let db: DatabaseSync | null = null;

function openDatabase(): void {
  const dataDir = env.get("DATA_DIR") ?? "/data";
  const dir = hostPath(dataDir);
  if (!dir) {
    log(`INFO: DATA_DIR=${dataDir} is not a mounted volume; data stays inside the container`);
    return;
  }
  db = new DatabaseSync(`${dir}/network.db`);
  db.exec("PRAGMA busy_timeout = 5000");
  db.exec("PRAGMA journal_mode = WAL");
  db.exec(
    "CREATE TABLE IF NOT EXISTS migrations (version TEXT PRIMARY KEY, applied_at TEXT NOT NULL)",
  );
  db.exec("CREATE TABLE IF NOT EXISTS heartbeat (id INTEGER PRIMARY KEY, version TEXT, at TEXT)");
  db.prepare("INSERT OR IGNORE INTO migrations (version, applied_at) VALUES (?, ?)")
    .run(release.version, new Date().toISOString());
  log(`INFO: database ${dataDir}/network.db ready (schema of ${release.version} applied)`);
}

function heartbeat(): void {
  try {
    db?.prepare("INSERT INTO heartbeat (version, at) VALUES (?, ?)")
      .run(release.version, new Date().toISOString());
  } catch (err) {
    log(`WARNING: heartbeat write failed: ${String(err)}`);
  }
}

function healthBody(): { status: number; body: unknown } {
  const status = release.behaviour === "unhealthy"
    ? "unhealthy"
    : release.behaviour === "degraded"
    ? "degraded"
    : "healthy";
  const version = release.behaviour === "wrong-version"
    ? (release.reportVersion ?? "0.0.1")
    : release.version;
  const checks = [
    {
      name: "database",
      status: status === "unhealthy" ? "error" : "ok",
      message: status === "unhealthy" ? "database is locked" : "Database connection OK",
      response_time_ms: 1.2,
    },
    {
      name: "disk",
      status: status === "degraded" ? "error" : "ok",
      message: status === "degraded" ? "disk 93% full" : "Disk usage 41%",
      response_time_ms: 0.3,
    },
  ];
  return {
    status: status === "unhealthy" ? 503 : 200,
    body: {
      status,
      app: "Graphēon",
      version,
      uptime_seconds: (Date.now() - started) / 1000,
      checks,
      timestamp: new Date().toISOString(),
    },
  };
}

/** The frontend's nginx: `/api/` goes to the backend container; 502 when it does not answer. */
async function proxyToBackend(req: Request): Promise<Response> {
  const harness = Deno.env.get("GRAPHEON_HARNESS_STATE");
  const state = harness ? readState(harness) : null;
  const unit = state &&
    Object.values(state.units).find((u) => u.kind === "container" && u.component === "backend");
  const backend = unit?.kind === "container" ? state?.containers[unit.container] : undefined;
  const url = new URL(req.url);
  try {
    if (!backend) throw new Error("no backend container");
    const res = await fetch(`http://127.0.0.1:${backend.port}${url.pathname}${url.search}`, {
      method: req.method,
      body: req.method === "GET" || req.method === "HEAD" ? undefined : await req.arrayBuffer(),
      signal: AbortSignal.timeout(10_000),
    });
    return new Response(await res.arrayBuffer(), { status: res.status, headers: res.headers });
  } catch {
    return new Response("<html><body><h1>502 Bad Gateway</h1></body></html>", {
      status: 502,
      headers: { "content-type": "text/html" },
    });
  }
}

/** Every answer names its harness, so a test can tell its own backend from a stray process. */
async function handler(req: Request): Promise<Response> {
  const res = await respond(req);
  res.headers.set("x-grapheon-harness", Deno.env.get("GRAPHEON_HARNESS_STATE") ?? "");
  return res;
}

async function respond(req: Request): Promise<Response> {
  const path = new URL(req.url).pathname;
  if (release.behaviour === "hang") await new Promise(() => {});
  if (release.component === "frontend") {
    if (path.startsWith("/api/")) return await proxyToBackend(req);
    const code = release.behaviour === "unhealthy" ? 503 : 200;
    return new Response(
      `<!doctype html><title>Graphēon</title><!-- frontend ${release.version} -->`,
      {
        status: code,
        headers: { "content-type": "text/html" },
      },
    );
  }
  if (path === "/health" || path === "/api/health") {
    const { status, body } = healthBody();
    return Response.json(body, { status });
  }
  const updates = await updatesApi(req, {
    dataDir: env.get("DATA_DIR") ?? "/data",
    hostPath,
    version: release.version,
    containerId: spec.id,
    log,
  });
  return updates ?? Response.json({ detail: "Not Found" }, { status: 404 });
}

async function serve(): Promise<void> {
  const until = Date.now() + 3000;
  for (;;) {
    try {
      Deno.serve({ hostname: "127.0.0.1", port: spec.port, onListen: () => {} }, handler);
      log(
        `INFO:     Uvicorn running on http://0.0.0.0:${spec.containerPort} (Press CTRL+C to quit)`,
      );
      return;
    } catch (err) {
      if (!(err instanceof Deno.errors.AddrInUse) || Date.now() > until) {
        log(`ERROR: cannot listen on port ${spec.port}: ${String(err)}`);
        Deno.exit(1);
      }
      await sleep(50);
    }
  }
}

Deno.addSignalListener("SIGTERM", () => {
  log("INFO:     Shutting down");
  try {
    db?.close();
  } catch { /* already closed */ }
  Deno.exit(0);
});

log(
  `INFO:     Started server process [${Deno.pid}] Graphēon ${release.component} ${release.version}`,
);
if (release.component === "backend") {
  if (release.behaviour === "needs-jwt") {
    const secret = env.get("JWT_SECRET");
    if (!secret || secret === "change-me") {
      log(
        'ERROR: JWT_SECRET must be set to a non-default value (unset or "change-me"); refusing to start',
      );
      Deno.exit(1);
    }
  }
  try {
    openDatabase();
  } catch (err) {
    log(`ERROR: cannot open the database: ${String(err)}`);
    Deno.exit(1);
  }
}
if (release.behaviour === "crash") {
  log("Traceback (most recent call last):");
  log(`RuntimeError: simulated start-up crash of ${release.component} ${release.version}`);
  Deno.exit(1);
}
if (release.behaviour === "slow-start") await sleep(release.startDelayMs ?? 1500);
await serve();
if (db) setInterval(heartbeat, 250);
if (release.crashAfterMs !== undefined) {
  setTimeout(() => {
    log(`RuntimeError: simulated crash ${release.crashAfterMs} ms after start-up`);
    Deno.exit(1);
  }, release.crashAfterMs);
}
// Never outlive the harness: exit when its dir is gone (a test died without close()),
// and in any case after 30 minutes (a test process killed before it could clean up).
setTimeout(() => Deno.exit(0), 30 * 60_000);
setInterval(() => {
  try {
    Deno.statSync(spec.logFile);
  } catch {
    Deno.exit(0);
  }
}, 1000);
