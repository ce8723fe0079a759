/**
 * The hermetic test harness: a temp dir with a tool config, a data dir holding
 * a live SQLite database, a fake registry, podman and systemctl doubles on PATH
 * and "containers" that are real local HTTP servers answering `/health` the way
 * the running release would. End-to-end tests run the real CLI entry point
 * (`deno run -A main.ts`) against it. See docs/harness.md.
 *
 *     await using h = await Harness.create();
 *     const r = await h.runTool(["upgrade", "--json"]);
 */
import { join } from "node:path";
import type { Config } from "../../lib/config/config.ts";
import { run, type Runner } from "../../lib/host/exec.ts";
import { freePort, resolveImage, setTag } from "./containers.ts";
import { pickFault } from "./double.ts";
import {
  HARNESS_BIN,
  MAIN_TS,
  PATH_UNIT,
  REPO_ROOT,
  seedDatabase,
  seedRegistry,
  unitDefinitions,
  UPGRADE_UNIT,
  writeHarnessConfig,
} from "./harness_setup.ts";
import { PathUnitWatcher, type PathWatchOptions } from "./path_watcher.ts";
import { harnessPids, killHarnessProcesses } from "./processes.ts";
import { registryEntries, type ReleaseSpec, type ReleaseTable } from "./releases.ts";
import {
  type Call,
  type Component,
  containerRunning,
  emptyState,
  type FaultRule,
  type HarnessState,
  initState,
  procCmdline,
  readState,
  sleep,
  type Unit,
  withState,
} from "./state.ts";
import { startUnit } from "./units.ts";

export { deepMerge } from "./harness_setup.ts";
export { HARNESS_BIN, PATH_UNIT, REPO_ROOT, UPGRADE_UNIT };

/** Options for `Harness.create`. */
export interface HarnessOptions {
  /** Releases added to (or replacing, per version) the defaults. */
  releases?: ReleaseTable;
  /** Drop the default releases (only `releases` then exist). */
  noDefaultReleases?: boolean;
  /** Versions `:latest` points at (default: the newest healthy release). */
  latest?: Partial<Record<Component, string>>;
  /** Versions running at start (default 0.2.0 for both); `null` starts nothing. */
  running?: Partial<Record<Component, string>> | null;
  /** Deep-merged over the harness config (validated by lib/config/config.ts). */
  configOverrides?: Record<string, unknown>;
  /** Contents of the env file (`config.envFile`) both units and a canary may read. */
  envFile?: Record<string, string>;
  /** Extra env of the backend unit's container (after the env file), e.g. `["DATA_DIR=/data"]`. */
  backendUnitEnv?: string[];
  /** Run `grapheon-upgrade.path` for real: start the upgrade service when the request appears. */
  watchPathUnit?: boolean | PathWatchOptions;
}

/** What `runTool` returns. */
export interface ToolResult {
  /** Exit code (137 when SIGKILLed). */
  code: number;
  /** The signal that ended it, if any. */
  signal: Deno.Signal | null;
  /** Standard output. */
  stdout: string;
  /** Standard error (the log). */
  stderr: string;
}

/** Options for running the tool. */
export interface ToolRunOptions {
  /** Extra environment. */
  env?: Record<string, string>;
  /** Text on standard input. */
  stdin?: string;
}

/** A `/health` answer, or why there was none. */
export type HealthResult =
  | { ok: true; status: number; body: Record<string, unknown> }
  | { ok: false; error: "refused" | "reset" | "timeout" | string };

const decoder = new TextDecoder();

/** A fake app could not bind its port: another process took it after the harness picked it. */
class PortTakenError extends Error {
  /** Constructs the error for `port`. */
  constructor(port: number) {
    super(`harness: port ${port} was taken by another process`);
  }
}

/** A harness instance: one fake host in one temp dir. */
export class Harness {
  /** Processes started by `spawnTool`, ended by `close`. */
  readonly #children = new Set<Deno.ChildProcess>();
  #closed = false;
  #watcher: PathUnitWatcher | null = null;

  private constructor(
    /** The temp dir holding everything. */
    readonly dir: string,
    /** The effective tool config (as written to `configPath`). */
    readonly config: Config,
    /** The tool config file. */
    readonly configPath: string,
    /** The doubles' state dir ($GRAPHEON_HARNESS_STATE). */
    readonly stateDir: string,
  ) {}

  /** Creates a fake host, seeds the registry and starts the running releases. */
  static async create(options: HarnessOptions = {}): Promise<Harness> {
    for (let attempt = 1;; attempt++) {
      const dir = await Deno.makeTempDir({ prefix: "grapheon-harness-" });
      try {
        return await Harness.#setUp(dir, options);
      } catch (err) {
        await killHarnessProcesses(join(dir, "harness"));
        await Deno.remove(dir, { recursive: true }).catch(() => {});
        // Another process took a picked port between the pick and the bind: pick again.
        if (!(err instanceof PortTakenError) || attempt >= 3) throw err;
      }
    }
  }

  static async #setUp(dir: string, options: HarnessOptions): Promise<Harness> {
    const dataDir = join(dir, "data");
    const stateDir = join(dir, "harness");
    for (const d of [dataDir, join(dataDir, "backups"), join(dataDir, "uploads"), stateDir]) {
      await Deno.mkdir(d, { recursive: true });
    }
    const backend = freePort();
    let frontend = freePort();
    while (frontend === backend) frontend = freePort();
    const ports = { backend, frontend };
    const { config, path: configPath } = await writeHarnessConfig({
      dir,
      ports,
      overrides: options.configOverrides ?? {},
    });
    const envFile = options.envFile ?? { JWT_SECRET: "change-me" };
    await Deno.writeTextFile(
      config.envFile,
      Object.entries(envFile).map(([k, v]) => `${k}=${v}\n`).join(""),
    );
    seedDatabase(join(config.dataDir, "network.db"));
    const state: HarnessState = emptyState();
    state.registry = await seedRegistry({ config, ...options });
    state.units = unitDefinitions({
      config,
      ports,
      backendUnitEnv: options.backendUnitEnv ?? [],
    });
    initState(stateDir, state);
    const h = new Harness(dir, config, configPath, stateDir);
    const running = options.running === undefined
      ? { backend: "0.2.0", frontend: "0.2.0" }
      : options.running;
    for (const component of ["backend", "frontend"] as const) {
      const version = running?.[component];
      if (!version) continue;
      await h.install(component, version);
      await h.startUnitDirectly(component);
    }
    await h.waitForListeners();
    if (options.watchPathUnit) {
      h.watchPathUnit(options.watchPathUnit === true ? {} : options.watchPathUnit);
    }
    return h;
  }

  /** The data dir (host side of the backend's /app/data). */
  get dataDir(): string {
    return this.config.dataDir;
  }

  /** Environment for the tool and the doubles (pass it; the test process's env is not changed). */
  get env(): Record<string, string> {
    return {
      GRAPHEON_TOOL_CONFIG: this.configPath,
      GRAPHEON_HARNESS_STATE: this.stateDir,
      GRAPHEON_HARNESS_DENO: Deno.execPath(),
      PATH: `${HARNESS_BIN}:${Deno.env.get("PATH") ?? "/usr/bin:/bin"}`,
      NO_COLOR: "1",
    };
  }

  /**
   * A lib/host/exec.ts Runner that adds the harness env to every command, for tests
   * that drive lib adapters in-process: `new Podman(h.runner, h.config.commands.podman)`.
   */
  get runner(): Runner {
    return (argv, options = {}) => run(argv, { ...options, env: { ...this.env, ...options.env } });
  }

  /** Image reference of a component's release: `<image>:v<version>`. */
  ref(component: Component, version: string): string {
    return `${this.config[component].image}:v${version}`;
  }

  /** Image ID of a component's release in the registry. */
  releaseId(component: Component, version: string): string {
    const r = this.state().registry[this.ref(component, version)];
    if (!r) throw new Error(`harness: no ${component} release ${version}`);
    return r.id;
  }

  /**
   * Puts a release on the host without going through the doubles (no call is
   * logged): pulls it into local images, tags it `v<version>` and the run tag.
   */
  async install(component: Component, version: string, options: { runTag?: boolean } = {}) {
    const ref = this.ref(component, version);
    const runRef = `${this.config[component].image}:${this.config.runTag}`;
    await withState(this.stateDir, (s) => {
      const release = s.registry[ref];
      if (!release) throw new Error(`harness: no ${component} release ${version} in the registry`);
      s.images[release.id] ??= { release: { ...release }, repoTags: [] };
      setTag(s, release.id, ref);
      if (options.runTag !== false) setTag(s, release.id, runRef);
    });
  }

  /**
   * Publishes (or re-publishes) a release in the fake registry while the test
   * runs, e.g. a new version, or `:latest` moved with `{ alsoLatest: true }`.
   * Local images are not touched (a re-published tag needs a new pull).
   */
  async publish(
    component: Component,
    version: string,
    spec: ReleaseSpec,
    options: { alsoLatest?: boolean } = {},
  ): Promise<string> {
    const image = this.config[component].image;
    const entries = await registryEntries({
      component,
      image,
      releases: { [version]: spec },
      latest: options.alsoLatest ? version : undefined,
    });
    await withState(this.stateDir, (s) => {
      const release = entries[`${image}:v${version}`];
      s.registry[`${image}:v${version}`] = release;
      if (options.alsoLatest) s.registry[`${image}:latest`] = release;
    });
    return entries[`${image}:v${version}`].id;
  }

  /** Starts a component's unit without going through the doubles (no call is logged). */
  async startUnitDirectly(component: Component): Promise<void> {
    const unit = this.config[component].service;
    const err = await withState(this.stateDir, (s) => startUnit(s, unit, this.stateDir));
    if (err) throw new Error(`harness: cannot start ${unit}: ${err}`);
  }

  /** Waits (up to 10 s) until every running unit container listens or has died. */
  async waitForListeners(): Promise<void> {
    const until = Date.now() + 10_000;
    for (const u of Object.values(this.state().units)) {
      if (u.kind !== "container" || u.activeState !== "active") continue;
      while (Date.now() < until) {
        const c = this.state().containers[u.container];
        if (!c) break;
        // The app's own log line, not a TCP connect: another process could hold the port.
        const log = await Deno.readTextFile(c.logFile).catch(() => "");
        if (log.includes("Uvicorn running on")) break;
        if (!containerRunning(c)) {
          if (log.includes("cannot listen on port")) throw new PortTakenError(u.hostPort);
          break;
        }
        await sleep(25);
      }
    }
  }

  /** The doubles' state as it is now. */
  state(): HarnessState {
    return readState(this.stateDir);
  }

  /** Calls the doubles received whose argv starts with `prefix` (e.g. `"systemctl", "restart"`). */
  calls(...prefix: string[]): Call[] {
    return this.state().calls.filter((c) => prefix.every((p, i) => c.argv[i] === p));
  }

  /** Adds a fault rule (see docs/harness.md); rules are checked in the order added. */
  async setFault(rule: FaultRule): Promise<void> {
    await withState(this.stateDir, (s) => {
      s.faults.push({ ...rule, seen: 0, fired: 0 });
    });
  }

  /** Removes every fault rule. */
  async clearFaults(): Promise<void> {
    await withState(this.stateDir, (s) => {
      s.faults = [];
    });
  }

  /** `podman pull <ref>` fails (`times` times, default always). */
  failPull(ref: string, options: { times?: number; stderr?: string } = {}): Promise<void> {
    return this.setFault({ match: ["podman", "pull", ref], action: "fail", ...options });
  }

  /** `podman pull <ref>` hangs for `ms` (default one hour; the tool's pull timeout ends it). */
  hangPull(ref: string, ms?: number): Promise<void> {
    return this.setFault({ match: ["podman", "pull", ref], action: "hang", ms });
  }

  /** `systemctl restart <unit>` fails (`times` times, default always): old container gone, unit failed. */
  failRestart(unit: string, options: { times?: number; skip?: number } = {}): Promise<void> {
    return this.setFault({ match: ["systemctl", "restart", unit], action: "fail", ...options });
  }

  /**
   * SIGKILLs the tool at the `nth` (default 1st) call matching `match`
   * (`[]` = any call), before that call does anything or, with `when: "after"`, after it.
   */
  killToolOn(
    match: string[],
    options: { nth?: number; when?: "before" | "after" } = {},
  ): Promise<void> {
    return this.setFault({
      match,
      action: "kill-tool",
      skip: (options.nth ?? 1) - 1,
      times: 1,
      when: options.when,
    });
  }

  /** Would a rule fire on `argv` (dry run for tests of the fault matcher)? */
  static faultFires(state: HarnessState, argv: string[]): FaultRule | null {
    return pickFault(state, argv);
  }

  /** Writes `<dataDir>/upgrade-requested` (objects as JSON, strings as they are). */
  async writeRequest(request: unknown): Promise<void> {
    const text = typeof request === "string" ? request : JSON.stringify(request);
    await Deno.writeTextFile(join(this.dataDir, "upgrade-requested"), text);
  }

  /** A request body as the app writes it. */
  static request(backend: string, frontend = backend, current = "0.2.0"): Record<string, string> {
    return {
      requested_at: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
      current_version: current,
      target_version: backend,
      target_backend_version: backend,
      target_frontend_version: frontend,
    };
  }

  /** `<dataDir>/upgrade-status.json` parsed, or null when missing (throws if unparseable). */
  async readStatus(): Promise<Record<string, unknown> | null> {
    try {
      return JSON.parse(await Deno.readTextFile(join(this.dataDir, "upgrade-status.json")));
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return null;
      throw err;
    }
  }

  /** Fetches the live backend health (`config.backend.healthUrl`). */
  async health(timeoutMs = 2000): Promise<HealthResult> {
    try {
      const res = await fetch(this.config.backend.healthUrl, {
        signal: AbortSignal.timeout(timeoutMs),
      });
      const text = await res.text();
      if (res.headers.get("x-grapheon-harness") !== this.stateDir) {
        return { ok: false, error: "answered by a process that is not this harness's backend" };
      }
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(text);
      } catch {
        return { ok: false, error: `not JSON: ${text.slice(0, 100)}` };
      }
      return { ok: true, status: res.status, body };
    } catch (err) {
      const text = String(err instanceof Error ? (err.cause ?? err.message) : err);
      if (err instanceof DOMException && err.name === "TimeoutError") {
        return { ok: false, error: "timeout" };
      }
      if (/refused/i.test(text)) return { ok: false, error: "refused" };
      if (/reset by peer|connection reset/i.test(text)) return { ok: false, error: "reset" };
      return { ok: false, error: text.slice(0, 200) };
    }
  }

  /**
   * What the web UI does: `POST /api/updates/upgrade` (the app writes the
   * request for its `:latest` release) through the frontend's `/api/` proxy,
   * or straight to the backend. Returns the HTTP status and body.
   */
  async appRequestUpgrade(via: "frontend" | "backend" = "frontend") {
    return await this.#api("POST", "/api/updates/upgrade", via);
  }

  /** What the web UI polls: `GET /api/updates/status` (through the frontend by default). */
  async appStatus(via: "frontend" | "backend" = "frontend") {
    return await this.#api("GET", "/api/updates/status", via);
  }

  async #api(
    method: string,
    path: string,
    via: "frontend" | "backend",
  ): Promise<{ status: number; body: unknown }> {
    const base = via === "frontend"
      ? this.config.frontend.url.replace(/\/$/, "")
      : new URL(this.config.backend.healthUrl).origin;
    const res = await fetch(`${base}${path}`, { method, signal: AbortSignal.timeout(10_000) });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch { /* an nginx error page */ }
    return { status: res.status, body };
  }

  /** Polls health until it reports `version` with status 200, up to `timeoutMs`; the last result. */
  async waitForVersion(version: string, timeoutMs = 10_000): Promise<HealthResult> {
    const until = Date.now() + timeoutMs;
    let last = await this.health();
    while (Date.now() < until) {
      if (last.ok && last.status === 200 && last.body.version === version) return last;
      await sleep(50);
      last = await this.health();
    }
    return last;
  }

  /** Image IDs of the running unit containers (null when not running). */
  runningImageIds(): Record<Component, string | null> {
    const s = this.state();
    const id = (c: Component) => {
      const ct = s.containers[this.config[c].container];
      return ct && containerRunning(ct) ? ct.image : null;
    };
    return { backend: id("backend"), frontend: id("frontend") };
  }

  /** Versions of the running unit containers' images (null when not running). */
  runningVersions(): Record<Component, string | null> {
    const s = this.state();
    const ids = this.runningImageIds();
    const v = (c: Component) => (ids[c] ? s.images[ids[c]!]?.release.version ?? null : null);
    return { backend: v("backend"), frontend: v("frontend") };
  }

  /** The local image ID a reference resolves to, or null. */
  localImage(ref: string): string | null {
    return resolveImage(this.state(), ref);
  }

  /** Rewrites the env file the units (and a canary) read. */
  async writeEnvFile(values: Record<string, string>): Promise<void> {
    await Deno.writeTextFile(
      this.config.envFile,
      Object.entries(values).map(([k, v]) => `${k}=${v}\n`).join(""),
    );
  }

  /** Sets what the df double reports (for every path). */
  async setDisk(availBytes: number, sizeBytes: number): Promise<void> {
    await withState(this.stateDir, (s) => {
      s.disk = { availBytes, sizeBytes };
    });
  }

  /** Sets a unit's state directly (e.g. `grapheon-upgrade.path` inactive), or adds a plain unit. */
  async setUnitState(name: string, activeState: "active" | "inactive" | "failed"): Promise<void> {
    await withState(this.stateDir, (s) => {
      const u: Unit = s.units[name] ?? { kind: "plain", activeState, enabled: false, starts: 0 };
      u.activeState = activeState;
      s.units[name] = u;
    });
  }

  /**
   * Runs `grapheon-upgrade.path` for real from now on: while it is active and
   * `<dataDir>/upgrade-requested` exists, starts `grapheon-upgrade.service`
   * (the tool's `upgrade`) through the systemctl double, again after each run
   * while the file is still there, until the start limit (see path_watcher.ts).
   */
  watchPathUnit(options: PathWatchOptions = {}): PathUnitWatcher {
    if (!this.#watcher) {
      this.#watcher = new PathUnitWatcher({
        stateDir: this.stateDir,
        requestPath: join(this.dataDir, "upgrade-requested"),
        startService: () => this.double("systemctl", ["start", UPGRADE_UNIT]),
        ...options,
      });
    }
    return this.#watcher;
  }

  /** The oneshot services' output (what `journalctl -u` would show), or "". */
  journal(unit = UPGRADE_UNIT): string {
    try {
      return Deno.readTextFileSync(join(this.stateDir, "logs", `${unit}.journal`));
    } catch {
      return "";
    }
  }

  /** Runs a double directly (calls are logged like the tool's). */
  async double(program: "podman" | "systemctl" | "df", args: string[]): Promise<ToolResult> {
    return await this.#run(join(HARNESS_BIN, program), args, {});
  }

  /** Runs `grapheon-tool args…` (`deno run -A main.ts`) with the harness env; waits for it. */
  async runTool(args: string[], options: ToolRunOptions = {}): Promise<ToolResult> {
    return await this.#run(Deno.execPath(), ["run", "-A", "--quiet", MAIN_TS, ...args], options);
  }

  async #run(program: string, args: string[], options: ToolRunOptions): Promise<ToolResult> {
    const child = new Deno.Command(program, {
      args,
      cwd: this.dir,
      env: { ...this.env, ...options.env },
      stdin: options.stdin === undefined ? "null" : "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#children.add(child);
    try {
      if (options.stdin !== undefined) {
        const w = child.stdin.getWriter();
        await w.write(new TextEncoder().encode(options.stdin));
        await w.close();
      }
      const out = await child.output();
      return {
        code: out.code,
        signal: out.signal,
        stdout: decoder.decode(out.stdout),
        stderr: decoder.decode(out.stderr),
      };
    } finally {
      this.#children.delete(child);
    }
  }

  /**
   * Starts `grapheon-tool args…` and returns the process (stdout/stderr piped,
   * stdin null) for concurrency and signal tests; `close` kills it if still running.
   */
  spawnTool(args: string[], options: { env?: Record<string, string> } = {}): Deno.ChildProcess {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--quiet", MAIN_TS, ...args],
      cwd: this.dir,
      env: { ...this.env, ...options.env },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#children.add(child);
    child.status.finally(() => this.#children.delete(child));
    return child;
  }

  /** PIDs of live processes that belong to this harness (fake apps, doubles, tools it ran). */
  processes(): number[] {
    return harnessPids(this.stateDir);
  }

  /** Kills every process of this harness and removes its temp dir. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const watching = this.#watcher?.stop(); // no new trigger; a run in progress dies below
    for (const child of this.#children) {
      try {
        child.kill("SIGKILL");
      } catch { /* already exited */ }
      await child.status.catch(() => {});
      await child.stdout?.cancel().catch(() => {});
      await child.stderr?.cancel().catch(() => {});
    }
    await killHarnessProcesses(this.stateDir);
    await watching;
    await killHarnessProcesses(this.stateDir);
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }

  /** `await using h = await Harness.create()` closes it at the end of the scope. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** Command line of a PID (diagnostics in failing tests). */
  static cmdline(pid: number): string {
    return procCmdline(pid);
  }
}
