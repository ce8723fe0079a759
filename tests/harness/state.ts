/**
 * The harness state: one JSON file (`state.json`) in the harness state dir that
 * the podman and systemctl doubles, the fake apps and the test share. Doubles
 * can run concurrently (the tool runs several, tests run several tools), so
 * every change happens under an exclusive `flock` on `state.lock` (released by
 * the kernel even when a double is killed mid-change) and is written with a
 * temp file + rename, so a reader without the lock never sees half a file.
 * Dependency-free on purpose: the doubles start once per call.
 */
import { join } from "node:path";

/** How a fake release behaves when its container starts. */
export type Behaviour =
  | "healthy"
  | "degraded"
  | "unhealthy"
  | "crash"
  | "wrong-version"
  | "slow-start"
  | "needs-jwt"
  | "hang";

/** Every behaviour, for validation. */
export const BEHAVIOURS: readonly Behaviour[] = [
  "healthy",
  "degraded",
  "unhealthy",
  "crash",
  "wrong-version",
  "slow-start",
  "needs-jwt",
  "hang",
];

/** Which app an image is. */
export type Component = "backend" | "frontend";

/** A published release in the fake registry (and, once pulled, a local image's content). */
export interface Release {
  /** Image ID: 64 hex digits, no `sha256:` prefix (as podman prints it). */
  id: string;
  /** Which app. */
  component: Component;
  /** Version without `v`. */
  version: string;
  /** What its container does. */
  behaviour: Behaviour;
  /** slow-start: listen only after this many milliseconds. */
  startDelayMs?: number;
  /** wrong-version: the version its health endpoint reports. */
  reportVersion?: string;
  /** Any behaviour that serves: the process exits 1 this many ms after it started listening. */
  crashAfterMs?: number;
  /** Image creation time (ISO). */
  created: string;
}

/** A local image. */
export interface LocalImage {
  /** The release it holds. */
  release: Release;
  /** `name:tag` references pointing at it. */
  repoTags: string[];
}

/** A bind mount as podman reports it. */
export interface Mount {
  /** Host path. */
  Source: string;
  /** Path inside the container. */
  Destination: string;
}

/** A container: a fake app process. */
export interface Container {
  /** 64 hex digits. */
  id: string;
  /** Container name. */
  name: string;
  /** Image ID. */
  image: string;
  /** The reference it was started from (as given to `podman run`). */
  imageName: string;
  /** False once stopped or killed (a crashed process is detected live, see `containerRunning`). */
  running: boolean;
  /** PID of the fake app process (0 when none). */
  pid: number;
  /** Its start time (clock ticks since boot), which tells it from a later process with the same PID. */
  pidStart: number;
  /** Host port it listens on (127.0.0.1). */
  port: number;
  /** The container port published on `port`. */
  containerPort?: number;
  /** `KEY=VALUE` environment. */
  env: string[];
  /** Bind mounts. */
  mounts: Mount[];
  /** The fake app's log file. */
  logFile: string;
  /** Creation time (ISO). */
  created: string;
  /** Start time (ISO). */
  startedAt: string;
  /** Exit code once stopped by podman stop (0 on SIGTERM, 137 on SIGKILL). */
  exitCode?: number;
  /** Stop time (ISO), once stopped. */
  finishedAt?: string;
  /** The unit that started it, if any. */
  unit?: string;
  /** `--label k=v` labels. */
  labels?: Record<string, string>;
  /** `--rm`: forgotten once its process has ended. */
  autoRemove?: boolean;
}

/** A systemd unit that runs a container (what the published units do). */
export interface ContainerUnit {
  /** Discriminant. */
  kind: "container";
  /** Stored state; a unit whose container died reports `activating` (see units.ts). */
  activeState: "active" | "inactive" | "failed";
  /** `systemctl enable` state. */
  enabled: boolean;
  /** Which app. */
  component: Component;
  /** Container name. */
  container: string;
  /** Image repository (no tag). */
  image: string;
  /** The tag the unit runs. */
  runTag: string;
  /** Host port (127.0.0.1) the container port is published on. */
  hostPort: number;
  /** Port inside the container. */
  containerPort: number;
  /** `KEY=VALUE` environment of the unit's `podman run`. */
  env: string[];
  /** `--env-file` files of the unit's `podman run`, read at each start. */
  envFiles: string[];
  /** `host:container` bind mounts. */
  volumes: string[];
  /** Number of (re)starts. */
  starts: number;
  /** Why the last start failed. */
  lastError?: string;
}

/**
 * Any other unit: a state that start/stop flip, or, with `exec`, a oneshot
 * service whose start runs that argv and waits (exit 0 → inactive, else failed).
 */
export interface PlainUnit {
  /** Discriminant. */
  kind: "plain";
  /** Current state (`activating` while its `exec` runs). */
  activeState: "active" | "inactive" | "failed" | "activating";
  /** `systemctl enable` state. */
  enabled: boolean;
  /** Number of starts. */
  starts: number;
  /** Oneshot command (run with the caller's environment). */
  exec?: string[];
  /** systemd's Result of the last run (`success`, `exit-code`, `signal`, `unit-start-limit-hit`). */
  result?: string;
  /** The double running `exec` now (PID and start time). */
  runner?: { pid: number; start: number };
  /** The start that owns the next run (oneshot.ts). */
  claim?: { token: string; at: number };
  /** Why the last start failed. */
  lastError?: string;
}

/** A unit the systemctl double knows. */
export type Unit = ContainerUnit | PlainUnit;

/** Free space the df double reports. */
export interface Disk {
  /** Bytes available. */
  availBytes: number;
  /** Filesystem size. */
  sizeBytes: number;
}

/** What a fault does when it fires. */
export type FaultAction = "fail" | "hang" | "delay" | "kill-tool";

/** A fault rule (see docs/harness.md). */
export interface FaultRule {
  /** argv prefix to match, e.g. `["podman", "pull"]`; `[]` matches every call; `"*"` any element. */
  match: string[];
  /** What happens. */
  action: FaultAction;
  /** Let this many matching calls through first (so `skip: 2` fires on the 3rd). */
  skip?: number;
  /** Fire at most this many times (default: every later match). */
  times?: number;
  /** fail: exit code (default depends on the command). */
  code?: number;
  /** fail: stderr text (default depends on the command). */
  stderr?: string;
  /** hang/delay: milliseconds (hang default: one hour). */
  ms?: number;
  /** kill-tool: before the command does anything (default) or after it completed. */
  when?: "before" | "after";
  /** Bookkeeping: matching calls seen. */
  seen?: number;
  /** Bookkeeping: times fired. */
  fired?: number;
}

/** One invocation of a double. */
export interface Call {
  /** Sequence number from 1. */
  seq: number;
  /** `["podman", ...args]` or `["systemctl", ...args]`. */
  argv: string[];
  /** PID of the double. */
  pid: number;
  /** When it started (ISO). */
  at: string;
  /** Exit code, once finished (absent when it hung or was killed). */
  code?: number;
  /** The fault that fired on this call, if any. */
  fault?: FaultAction;
}

/** The whole state file. */
export interface HarnessState {
  /** Registry: `name:tag` → release. */
  registry: Record<string, Release>;
  /** Local images by ID. */
  images: Record<string, LocalImage>;
  /** Containers by name. */
  containers: Record<string, Container>;
  /** Units by name. */
  units: Record<string, Unit>;
  /** What the df double reports for every path. */
  disk: Disk;
  /** Fault rules, checked in order; the first that fires wins. */
  faults: FaultRule[];
  /** Every call the doubles received, in order. */
  calls: Call[];
}

/** An empty state. */
export function emptyState(): HarnessState {
  return {
    registry: {},
    images: {},
    containers: {},
    units: {},
    disk: { availBytes: 50 * 1024 ** 3, sizeBytes: 100 * 1024 ** 3 },
    faults: [],
    calls: [],
  };
}

/** The state file of a harness state dir. */
export function statePath(dir: string): string {
  return join(dir, "state.json");
}

/** Reads the state without the lock (always a whole file, thanks to rename). */
export function readState(dir: string): HarnessState {
  return JSON.parse(Deno.readTextFileSync(statePath(dir))) as HarnessState;
}

function writeState(dir: string, state: HarnessState): void {
  const tmp = join(dir, `.state.json.${Deno.pid}.${crypto.randomUUID().slice(0, 8)}`);
  Deno.writeTextFileSync(tmp, JSON.stringify(state, null, 1));
  Deno.renameSync(tmp, statePath(dir));
}

/** Writes a fresh state (harness set-up, before any double runs). */
export function initState(dir: string, state: HarnessState): void {
  writeState(dir, state);
}

/**
 * Runs `fn` on the state under the exclusive lock and saves what it leaves.
 * Keep `fn` short: other doubles wait for it.
 */
export async function withState<T>(
  dir: string,
  fn: (s: HarnessState) => T | Promise<T>,
): Promise<T> {
  const lock = await Deno.open(join(dir, "state.lock"), { read: true, write: true, create: true });
  try {
    await lock.lock(true);
    const state = readState(dir);
    const result = await fn(state);
    writeState(dir, state);
    return result;
  } finally {
    lock.close(); // closing releases the flock
  }
}

/** A fresh 64-hex-digit ID. */
export function randomId(): string {
  const b = crypto.getRandomValues(new Uint8Array(32));
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

/** Parent PID, state letter and start time (clock ticks since boot) of a process, or null. */
export function procStat(pid: number): { ppid: number; state: string; start: number } | null {
  try {
    const text = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // The command name (field 2) may contain spaces and parentheses: split after the last ")".
    const rest = text.slice(text.lastIndexOf(")") + 2).split(" ");
    // rest[0] is field 3 (state), so field 22 (starttime) is rest[19].
    return { state: rest[0], ppid: Number(rest[1]), start: Number(rest[19]) };
  } catch {
    return null;
  }
}

/** A process's command line as one space-separated string ("" when gone). */
export function procCmdline(pid: number): string {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/cmdline`).split("\0").join(" ").trim();
  } catch {
    return "";
  }
}

/**
 * True while `pid` is a live (not zombie) process that started at `start`
 * (clock ticks, from `procStat` right after the spawn): a recycled PID has
 * another start time. Checking the start time rather than the command line
 * also covers the moment between fork and exec.
 */
export function processAlive(pid: number, start: number): boolean {
  if (pid <= 0) return false;
  const st = procStat(pid);
  return st !== null && st.state !== "Z" && st.state !== "X" && st.start === start;
}

/** True while the container's fake app process lives. */
export function containerRunning(c: Container): boolean {
  return c.running && processAlive(c.pid, c.pidStart);
}

/** Sleeps. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
