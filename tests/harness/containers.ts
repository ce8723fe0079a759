/**
 * "Containers are processes": starting a container spawns a detached fake app
 * (fake_app.ts) with the image's behaviour; removing or stopping it kills that
 * process. Shared by the podman and systemctl doubles, which call these under
 * the state lock.
 */
import { join } from "node:path";
import {
  type Container,
  containerRunning,
  type HarnessState,
  type LocalImage,
  type Mount,
  processAlive,
  procStat,
  randomId,
  sleep,
} from "./state.ts";

const FAKE_APP = join(import.meta.dirname!, "fake_app.ts");

/** The env every fake image declares (`Config.Env`); a container's env starts with it. */
export const IMAGE_ENV: readonly string[] = [
  "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
  "LANG=C.UTF-8",
  "PYTHONUNBUFFERED=1",
];

/** `name` → `name:latest` when it has no tag (podman's rule). */
export function withDefaultTag(ref: string): string {
  const slash = ref.lastIndexOf("/");
  return ref.slice(slash + 1).includes(":") ? ref : `${ref}:latest`;
}

/** The image ID a reference or (prefix of an) ID names, or null. */
export function resolveImage(state: HarnessState, ref: string): string | null {
  const bare = ref.replace(/^sha256:/, "");
  if (/^[0-9a-f]{3,64}$/.test(bare)) {
    const ids = Object.keys(state.images).filter((id) => id.startsWith(bare));
    if (ids.length === 1) return ids[0];
  }
  const full = withDefaultTag(ref);
  for (const [id, img] of Object.entries(state.images)) {
    if (img.repoTags.includes(full)) return id;
  }
  return null;
}

/** Moves the tag `ref` to image `id` (a tag names one image at a time). */
export function setTag(state: HarnessState, id: string, ref: string): void {
  const full = withDefaultTag(ref);
  for (const img of Object.values(state.images)) {
    img.repoTags = img.repoTags.filter((t) => t !== full);
  }
  state.images[id].repoTags.push(full);
}

/**
 * A free TCP port on 127.0.0.1 for a live unit (released before returning; the
 * fake app binds it next). Taken at random below the kernel's ephemeral range,
 * so that nothing that asks for port 0 (another test's canary, another
 * harness's throwaway containers) can take it while a restart leaves it unbound.
 */
export function freePort(): number {
  let low = 32768;
  try {
    low = Number(Deno.readTextFileSync("/proc/sys/net/ipv4/ip_local_port_range").split(/\s+/)[0]);
  } catch { /* not Linux: keep the default */ }
  const from = Math.max(1024, Math.min(20_000, low - 4096));
  for (let i = 0; i < 100; i++) {
    const port = from + Math.floor(Math.random() * (low - from));
    try {
      const l = Deno.listen({ hostname: "127.0.0.1", port });
      l.close();
      return port;
    } catch { /* taken: try another */ }
  }
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** Options for `startContainer`. */
export interface StartOptions {
  /** Container name. */
  name: string;
  /** Image ID (resolved). */
  imageId: string;
  /** The reference as given. */
  imageName: string;
  /** `KEY=VALUE` env (env files already expanded). */
  env: string[];
  /** Bind mounts. */
  mounts: Mount[];
  /** Host port, or null to pick a free one (the container's port is not published). */
  port: number | null;
  /** The port inside the container the host port maps to (default 8000). */
  containerPort?: number;
  /** The harness state dir (logs go under it; marks the process as the harness's). */
  harnessDir: string;
  /** The unit that starts it. */
  unit?: string;
  /** `--label` labels. */
  labels?: Record<string, string>;
  /** `--rm`. */
  autoRemove?: boolean;
}

/** The spec a fake app process receives (one JSON argument). */
export interface AppSpec {
  /** Container ID (also marks the process). */
  id: string;
  /** Container name. */
  name: string;
  /** Image content. */
  image: LocalImage["release"];
  /** Port to listen on. */
  port: number;
  /** The container port it stands for (log lines show it, like the real app). */
  containerPort: number;
  /** Container env. */
  env: string[];
  /** Bind mounts (the fake resolves DATA_DIR through them). */
  mounts: Mount[];
  /** Log file. */
  logFile: string;
}

/** Spawns the fake app for a new container and records it in `state`. */
export function startContainer(state: HarnessState, o: StartOptions): Container {
  const id = randomId();
  const image = state.images[o.imageId];
  const logFile = join(o.harnessDir, "logs", `${id}.log`);
  Deno.mkdirSync(join(o.harnessDir, "logs"), { recursive: true });
  Deno.writeTextFileSync(logFile, "");
  const port = o.port ?? freePort();
  const env = [
    ...IMAGE_ENV,
    "TERM=xterm",
    "container=podman",
    ...o.env,
    `HOSTNAME=${id.slice(0, 12)}`,
  ];
  const spec: AppSpec = {
    id,
    name: o.name,
    image: image.release,
    port,
    containerPort: o.containerPort ?? 8000,
    env,
    mounts: o.mounts,
    logFile,
  };
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", "--no-config", FAKE_APP, JSON.stringify(spec)],
    env: { GRAPHEON_HARNESS_STATE: o.harnessDir },
    stdin: "null",
    stdout: "null",
    stderr: "null",
    detached: true,
  }).spawn();
  child.unref();
  // Read at once: the child exists from the fork on (its cmdline only after exec).
  const pidStart = procStat(child.pid)?.start ?? -1;
  const now = new Date().toISOString();
  const c: Container = {
    id,
    name: o.name,
    image: o.imageId,
    imageName: o.imageName,
    running: true,
    pid: child.pid,
    pidStart,
    port,
    containerPort: o.containerPort ?? 8000,
    env,
    mounts: o.mounts,
    logFile,
    created: now,
    startedAt: now,
    unit: o.unit,
  };
  if (o.labels && Object.keys(o.labels).length) c.labels = o.labels;
  if (o.autoRemove) c.autoRemove = true;
  state.containers[o.name] = c;
  return c;
}

/** Waits until the process is gone (its port is then free). */
async function waitGone(c: Container, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (!processAlive(c.pid, c.pidStart)) return true;
    await sleep(20);
  }
  return !processAlive(c.pid, c.pidStart);
}

function signal(c: Container, sig: Deno.Signal): void {
  if (!processAlive(c.pid, c.pidStart)) return;
  try {
    Deno.kill(c.pid, sig);
  } catch { /* gone meanwhile */ }
}

/**
 * Stops a container: SIGTERM, then SIGKILL after `graceMs`; it stays, as exited.
 * Returns podman's warning line when it had to resort to SIGKILL.
 */
export async function stopContainer(c: Container, graceMs: number): Promise<string> {
  let warning = "";
  if (containerRunning(c)) {
    signal(c, "SIGTERM");
    c.exitCode = 0;
    if (!(await waitGone(c, graceMs))) {
      signal(c, "SIGKILL");
      await waitGone(c, 2000);
      c.exitCode = 137;
      warning = `time="${new Date().toISOString()}" level=warning msg="StopSignal SIGTERM ` +
        `failed to stop container ${c.name} in ${Math.round(graceMs / 1000)} seconds, ` +
        `resorting to SIGKILL"\n`;
    }
  }
  if (c.running) {
    c.running = false;
    c.finishedAt = new Date().toISOString();
  }
  return warning;
}

/** Removes a container (killing its process, like `podman rm -f`). */
export async function removeContainer(
  state: HarnessState,
  name: string,
  graceMs = 0,
): Promise<string> {
  const c = state.containers[name];
  if (!c) return "";
  // `rm -f -t N` stops a running container like `stop -t N` (SIGTERM first) before removing it.
  const warning = graceMs > 0 ? await stopContainer(c, graceMs) : "";
  signal(c, "SIGKILL");
  await waitGone(c, 2000);
  delete state.containers[name];
  return warning;
}

/** Forgets `--rm` containers whose process has ended (podman removes them on exit). */
export function reapAutoRemoved(state: HarnessState): void {
  for (const [name, c] of Object.entries(state.containers)) {
    if (c.autoRemove && !containerRunning(c)) delete state.containers[name];
  }
}

/** Containers (any state) that use image `id`. */
export function containersUsing(state: HarnessState, id: string): Container[] {
  return Object.values(state.containers).filter((c) => c.image === id);
}

/** `podman container inspect --format json` entry of a container. */
export function inspectContainerView(state: HarnessState, c: Container): Record<string, unknown> {
  const running = containerRunning(c);
  const ports = c.port
    ? { [`${c.containerPort ?? 8000}/tcp`]: [{ HostIp: "127.0.0.1", HostPort: String(c.port) }] }
    : {};
  return {
    Id: c.id,
    Created: c.created,
    Path: "/app/start.sh",
    Args: [],
    State: {
      OciVersion: "1.1.0",
      Status: running ? "running" : "exited",
      Running: running,
      Paused: false,
      Restarting: false,
      OOMKilled: false,
      Dead: false,
      Pid: running ? c.pid : 0,
      // A process that died by itself (crash) is reported as exit 1.
      ExitCode: running ? 0 : (c.exitCode ?? 1),
      Error: "",
      StartedAt: c.startedAt,
      FinishedAt: running ? "0001-01-01T00:00:00Z" : (c.finishedAt ?? new Date().toISOString()),
    },
    Image: c.image,
    ImageName: c.imageName,
    ImageDigest: `sha256:${c.image}`,
    Name: c.name,
    Config: {
      Hostname: c.id.slice(0, 12),
      Env: c.env,
      Image: c.imageName,
      Labels: {
        ...(state.images[c.image]
          ? { "org.opencontainers.image.version": state.images[c.image].release.version }
          : {}),
        ...c.labels,
      },
    },
    Mounts: c.mounts.map((m) => ({
      Type: "bind",
      Source: m.Source,
      Destination: m.Destination,
      Driver: "",
      Mode: "",
      Options: ["rbind"],
      RW: true,
      Propagation: "rprivate",
    })),
    HostConfig: { PortBindings: ports },
    NetworkSettings: { Ports: ports },
  };
}

/** Parses `-v host:container[:opts]` into a mount. */
export function parseVolume(v: string): Mount | null {
  const parts = v.split(":");
  if (parts.length < 2 || !parts[0] || !parts[1]) return null;
  return { Source: parts[0], Destination: parts[1] };
}

/** Reads an env file (`KEY=VALUE` lines, `#` comments), as podman's --env-file does. */
export function readEnvFile(path: string): string[] {
  const text = Deno.readTextFileSync(path);
  return text.split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
}
