/**
 * The fake backend's update endpoints, as upstream `backend/routers/updates.py`
 * behaves (see the host contract): `POST /api/updates/upgrade` writes
 * `upgrade-requested` in DATA_DIR targeting the newest release (the registry's
 * `:latest`), without checking it is newer and without a working "409 already
 * in progress"; `GET /api/updates/status` returns `upgrade-status.json` as it
 * is (`{"status":"idle"}` when missing, `{"status":"error",…}` when it does not
 * parse). DATA_DIR defaults to `/data`; when that is not a mounted volume the
 * marker lands inside the container and never reaches the host (the upstream
 * bug), which the fake models by writing it under the harness state dir.
 */
import { join } from "node:path";
import { readState } from "./state.ts";

/** What the endpoints need to know about their container. */
export interface UpdatesContext {
  /** DATA_DIR inside the container. */
  dataDir: string;
  /** The host path behind a container path, or null when it is not mounted. */
  hostPath: (containerPath: string) => string | null;
  /** The running backend's version. */
  version: string;
  /** Container ID (names its private data dir). */
  containerId: string;
  /** Appends a log line. */
  log: (line: string) => void;
}

/** Where DATA_DIR really is: the mounted host dir, or the container's own (private) dir. */
function dataPath(ctx: UpdatesContext): string {
  const mounted = ctx.hostPath(ctx.dataDir);
  if (mounted) return mounted;
  const harness = Deno.env.get("GRAPHEON_HARNESS_STATE") ?? "/nonexistent";
  const inside = join(harness, "container-fs", ctx.containerId, ctx.dataDir);
  Deno.mkdirSync(inside, { recursive: true });
  return inside;
}

function latest(component: "backend" | "frontend"): string | null {
  const harness = Deno.env.get("GRAPHEON_HARNESS_STATE");
  if (!harness) return null;
  const entry = Object.entries(readState(harness).registry)
    .find(([ref, r]) => r.component === component && ref.endsWith(":latest"));
  return entry?.[1].version ?? null;
}

/** Answers the update endpoints, or null for any other path. */
export async function updatesApi(req: Request, ctx: UpdatesContext): Promise<Response | null> {
  const path = new URL(req.url).pathname;
  if (path === "/api/updates/upgrade" && req.method === "POST") {
    const backend = latest("backend");
    const frontend = latest("frontend") ?? backend;
    if (!backend) return Response.json({ detail: "no release found" }, { status: 502 });
    const body = {
      requested_at: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
      current_version: ctx.version,
      target_version: backend,
      target_backend_version: backend,
      target_frontend_version: frontend,
    };
    // Upstream writes it in place (not atomically); so does the fake.
    await Deno.writeTextFile(join(dataPath(ctx), "upgrade-requested"), JSON.stringify(body));
    ctx.log(`INFO: upgrade to ${backend} requested`);
    return Response.json({ status: "requested", ...body });
  }
  if (path === "/api/updates/status" && req.method === "GET") {
    let text: string;
    try {
      text = await Deno.readTextFile(join(dataPath(ctx), "upgrade-status.json"));
    } catch {
      return Response.json({ status: "idle" });
    }
    try {
      return Response.json(JSON.parse(text));
    } catch (err) {
      return Response.json({ status: "error", message: `cannot read status: ${String(err)}` });
    }
  }
  return null;
}
