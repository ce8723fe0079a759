/**
 * A typed, in-process fake of the host (lib/host/host.ts): Podman's images,
 * tags and containers, the two container units, the apps' health answers and a
 * virtual clock, all in one plain object, so that a test can run an upgrade or
 * rollback in milliseconds, fail any adapter call, abort at any phase, and copy
 * the whole host (state + the data and state dirs) at the moment a journal is
 * written — a SIGKILL there — to resume from.
 *
 * What it models, and where that was read: the process doubles in tests/harness
 * already mirror podman 4.x and systemctl (docs/harness.md lists what was
 * checked against the real podman 4.3.1); this fake keeps to the same facts at
 * the adapter level: `podman pull` of an unknown ref fails with exit 125,
 * `podman tag` moves a tag from its old image, a container the unit starts runs
 * the image the run tag names at that moment, each unit restarts only itself
 * (units/grapheon-frontend.service has no `PartOf=`), the backend answers
 * /health with the contract's body (../shared/contract.md: 200 for healthy and
 * degraded, 503 for unhealthy), and a release that exits at start is a stopped
 * container that refuses connections.
 */
import { IMAGE_CMD } from "../harness/podman_images.ts";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { type Config, parseConfig } from "../../lib/config/config.ts";
import { CommandError } from "../../lib/core/errors.ts";
import type { BridgeOps } from "../../lib/host/bridge.ts";
import type { Clock } from "../../lib/host/clock.ts";
import type { HttpGet, HttpResponse } from "../../lib/host/http.ts";
import { HttpFailure } from "../../lib/host/http.ts";
import type { Host, PodmanOps, SystemdOps } from "../../lib/host/host.ts";
import type { ContainerInfo, ImageInfo, ImageListEntry } from "../../lib/host/podman.ts";
import { createLogger, type Logger } from "../../lib/cli/log.ts";
import type { Journal } from "../../lib/job/journal.ts";

/** How a release behaves when it runs. */
export type Behaviour = "good" | "crash" | "unhealthy";

/** A release in the fake registry. */
export interface FakeRelease {
  /** backend or frontend. */
  component: "backend" | "frontend";
  /** Version (the tag is `v` + version). */
  version: string;
  /** How it behaves. */
  behaviour: Behaviour;
  /** Its image's Config.Cmd, when not the real image's (IMAGE_CMD). */
  cmd?: string[];
}

interface Image extends FakeRelease {
  id: string;
  tags: string[];
}

interface Container {
  id: string;
  image: string;
  running: boolean;
  /** Loopback port of a canary. */
  port: number | null;
}

/** Everything the fake host holds; plain data, so it copies with structuredClone. */
export interface FakeState {
  registry: Record<string, Image>;
  images: Record<string, Image>;
  containers: Record<string, Container>;
  now: number;
  calls: string[];
  /** 1-based index of the adapter call that fails (podman's exit 125), if any. */
  failCall: number | null;
}

/** What a test watches for: each journal write, as it happens. */
export type JournalWatch = (journal: Journal, fake: FakeHost) => void;

/** Backend and frontend releases of each version, all behaving well. */
export function goodReleases(...versions: string[]): FakeRelease[] {
  return versions.flatMap((version) =>
    (["backend", "frontend"] as const).map((component) => ({
      component,
      version,
      behaviour: "good" as const,
    }))
  );
}

const BACKEND = "ghcr.io/badgerops/grapheon-backend";
const FRONTEND = "ghcr.io/badgerops/grapheon-frontend";

function imageIdFor(r: FakeRelease): string {
  const hex = [...new TextEncoder().encode(`${r.component}-${r.version}-${r.behaviour}`)]
    .map((b) => b.toString(16).padStart(2, "0")).join("");
  return hex.padEnd(64, "0").slice(0, 64);
}

/** The fake host. Create with `FakeHost.create`, always `dispose`. */
export class FakeHost {
  /** Where the data dir and state dir are (real directories: the tool's file code runs for real). */
  readonly root: string;
  /** The tool's config. */
  readonly config: Config;
  /** The state. */
  state: FakeState;
  /** Called at every journal write. */
  watch: JournalWatch | null = null;
  /** Log lines. */
  readonly lines: string[] = [];

  private constructor(root: string, state: FakeState) {
    this.root = root;
    this.state = state;
    this.config = parseConfig(
      JSON.stringify({
        dataDir: join(root, "data"),
        stateDir: join(root, "state"),
        envFile: join(root, "state", "grapheon.env"),
      }),
      "fake host config",
    );
  }

  /** A host running `running` (backend and frontend), with `published` in its registry. */
  static create(options: { running: string; published: FakeRelease[] }): FakeHost {
    const root = mkdtempSync(join(tmpdir(), "grapheon-fake-"));
    Deno.mkdirSync(join(root, "data"));
    Deno.mkdirSync(join(root, "state"), { mode: 0o700 });
    const fake = new FakeHost(root, {
      registry: {},
      images: {},
      containers: {},
      now: Date.parse("2026-06-01T12:00:00Z"),
      calls: [],
      failCall: null,
    });
    for (const r of [...options.published]) fake.publish(r);
    for (const component of ["backend", "frontend"] as const) {
      const ref = fake.ref(component, options.running);
      fake.pullNow(ref);
      fake.tagNow(fake.state.registry[ref].id, `${fake.image(component)}:current`);
      fake.startUnit(component);
    }
    return fake;
  }

  /** A copy of this host as it is now (state and directories): what a SIGKILL leaves. */
  snapshot(): FakeHost {
    const root = mkdtempSync(join(tmpdir(), "grapheon-fake-"));
    cpSync(join(this.root, "data"), join(root, "data"), { recursive: true });
    cpSync(join(this.root, "state"), join(root, "state"), { recursive: true });
    return new FakeHost(root, structuredClone(this.state));
  }

  /** Removes the directories. */
  dispose(): void {
    rmSync(this.root, { recursive: true, force: true });
  }

  /** Puts a release in the registry. */
  publish(r: FakeRelease): void {
    const ref = this.ref(r.component, r.version);
    this.state.registry[ref] = { ...r, id: imageIdFor(r), tags: [] };
  }

  /** The image name of a component. */
  image(component: "backend" | "frontend"): string {
    return component === "backend" ? BACKEND : FRONTEND;
  }

  /** `<image>:v<version>`. */
  ref(component: "backend" | "frontend", version: string): string {
    return `${this.image(component)}:v${version}`;
  }

  /** The version the backend serves now (its health body), or null when it does not answer. */
  serving(): { version: string; healthy: boolean } | null {
    const c = this.state.containers[this.config.backend.container];
    if (!c?.running) return null;
    const img = this.state.images[c.image];
    return { version: img.version, healthy: img.behaviour === "good" };
  }

  /** The host as the tool sees it. */
  host(): Host {
    const log: Logger = createLogger({
      format: "journal",
      verbose: true,
      write: (line: string) => this.lines.push(line),
    });
    const onJournal = (j: Journal) => this.watch?.(j, this);
    return {
      config: this.config,
      log,
      clock: this.clock(),
      run: () => Promise.reject(new Error("the fake host runs no commands")),
      http: this.http(),
      podman: this.podman(),
      systemd: this.systemd(),
      bridge: this.bridge(),
      onJournal,
    };
  }

  /** Counts a call and fails it when it is the chosen one. */
  private call(what: string): Promise<void> {
    this.state.calls.push(what);
    if (this.state.failCall === this.state.calls.length) {
      return Promise.reject(
        new CommandError(`${what}: injected failure (exit 125)`, {
          argv: what.split(" "),
          code: 125,
          stderrTail: "Error: injected failure",
        }),
      );
    }
    return Promise.resolve();
  }

  private find(ref: string): Image | null {
    const withTag = /:[^/]+$/.test(ref) ? ref : `${ref}:latest`;
    return this.state.images[ref] ??
      Object.values(this.state.images).find((i) => i.tags.includes(withTag)) ?? null;
  }

  private pullNow(ref: string): string {
    const published = this.state.registry[ref];
    if (!published) {
      throw new CommandError(`podman pull ${ref}: manifest unknown`, {
        argv: ["podman", "pull", ref],
        code: 125,
        stderrTail:
          `Error: initializing source docker://${ref}: reading manifest: manifest unknown`,
      });
    }
    const img = this.state.images[published.id] ??= { ...published, tags: [] };
    this.tagNow(img.id, ref);
    return img.id;
  }

  private tagNow(id: string, ref: string): void {
    for (const i of Object.values(this.state.images)) i.tags = i.tags.filter((t) => t !== ref);
    this.state.images[id].tags.push(ref);
  }

  private startUnit(component: "backend" | "frontend"): void {
    const name = this.config[component].container;
    const img = this.find(`${this.image(component)}:${this.config.runTag}`);
    if (!img) {
      delete this.state.containers[name];
      return;
    }
    this.state.containers[name] = {
      id: `${name}-${this.state.calls.length}`,
      image: img.id,
      running: img.behaviour !== "crash",
      port: null,
    };
  }

  private clock(): Clock {
    return {
      now: () => new Date(this.state.now),
      monotonic: () => this.state.now,
      sleep: (ms: number, signal?: AbortSignal) => {
        if (signal?.aborted) return Promise.reject(signal.reason);
        this.state.now += ms;
        return new Promise((resolve) => setTimeout(resolve, 0));
      },
    };
  }

  private http(): HttpGet {
    return async (url: string): Promise<HttpResponse> => {
      await this.call(`GET ${url}`);
      const u = new URL(url);
      const port = Number(u.port);
      const byPort = Object.values(this.state.containers).find((c) => c.port === port);
      const backend = this.config.backend.healthUrl === url
        ? this.state.containers[this.config.backend.container]
        : byPort;
      const frontend = this.config.frontend.url === url
        ? this.state.containers[this.config.frontend.container]
        : undefined;
      const c = backend ?? frontend;
      if (!c?.running) {
        return Promise.reject(new HttpFailure("refused", `${url}: connection refused`));
      }
      const img = this.state.images[c.image];
      if (c === frontend) return Promise.resolve({ status: 200, body: "<html></html>" });
      const status = img.behaviour === "unhealthy" ? "unhealthy" : "healthy";
      return Promise.resolve({
        status: status === "healthy" ? 200 : 503,
        body: JSON.stringify({
          status,
          app: "Graphēon",
          version: img.version,
          uptime_seconds: 1,
          checks: [],
          timestamp: new Date(this.state.now).toISOString(),
        }),
      });
    };
  }

  private podman(): PodmanOps {
    const inspectImage = (ref: string): ImageInfo | null => {
      const i = this.find(ref);
      return i
        ? {
          Id: i.id,
          RepoTags: [...i.tags],
          Config: { Env: [], Cmd: i.cmd ?? [...IMAGE_CMD[i.component]] },
        }
        : null;
    };
    return {
      imageId: async (ref) => {
        await this.call(`podman image exists ${ref}`);
        return Promise.resolve(this.find(ref)?.id ?? null);
      },
      inspectImage: async (ref) => {
        await this.call(`podman image inspect ${ref}`);
        return Promise.resolve(inspectImage(ref));
      },
      pull: async (ref) => {
        await this.call(`podman pull ${ref}`);
        return Promise.resolve(this.pullNow(ref));
      },
      tag: async (id, ref) => {
        await this.call(`podman tag ${id.slice(0, 12)} ${ref}`);
        this.tagNow(id, ref);
        return Promise.resolve();
      },
      inspectContainer: async (name) => {
        await this.call(`podman container inspect ${name}`);
        const c = this.state.containers[name];
        if (!c) return Promise.resolve(null);
        const info: ContainerInfo = {
          Id: c.id,
          Name: name,
          Image: c.image,
          State: {
            Status: c.running ? "running" : "exited",
            Running: c.running,
            ExitCode: c.running ? 0 : 1,
          },
          Config: { Env: [] },
          Mounts: [],
        };
        return Promise.resolve(info);
      },
      listImages: async (repository) => {
        await this.call(`podman images ${repository ?? ""}`.trim());
        const list: ImageListEntry[] = Object.values(this.state.images)
          .filter((i) => !repository || i.tags.some((t) => t.startsWith(`${repository}:`)))
          .map((i) => ({ Id: i.id, Names: [...i.tags] }));
        return Promise.resolve(list);
      },
      removeImage: async (ref) => {
        await this.call(`podman rmi ${ref}`);
        const i = this.find(ref);
        if (i && !Object.values(this.state.containers).some((c) => c.image === i.id)) {
          delete this.state.images[i.id];
        }
        return Promise.resolve();
      },
      runDetached: async (o) => {
        await this.call(`podman run -d --name ${o.name}`);
        const img = this.find(o.image)!;
        const port = Number(o.extraArgs.find((a) => a.startsWith("127.0.0.1:"))?.split(":")[1]);
        this.state.containers[o.name] = {
          id: `${o.name}-${this.state.calls.length}`,
          image: img.id,
          running: img.behaviour !== "crash",
          port,
        };
        return Promise.resolve(this.state.containers[o.name].id);
      },
      removeContainer: async (name) => {
        await this.call(`podman rm -f ${name}`);
        delete this.state.containers[name];
        return Promise.resolve();
      },
      graphRoot: async () => await Promise.resolve(join(this.root, "storage")),
      logs: async (name) => {
        await this.call(`podman logs ${name}`);
        const c = this.state.containers[name];
        const img = c ? this.state.images[c.image] : null;
        return Promise.resolve(
          img?.behaviour === "crash" ? "FATAL: JWT_SECRET is the default; refusing to start" : "",
        );
      },
    };
  }

  /** The network's bridge: there is one once a container runs (netavark makes it then). */
  private bridge(): BridgeOps {
    return {
      pinAddress: async (gateway) => {
        await this.call(`ip link set (the bridge holding ${gateway}) address`);
        if (Object.keys(this.state.containers).length === 0) return null;
        return { ifname: "podman1", address: "aa:7e:3c:10:00:01" };
      },
    };
  }

  private systemd(): SystemdOps {
    const componentOf = (unit: string) =>
      unit === this.config.backend.service
        ? "backend"
        : unit === this.config.frontend.service
        ? "frontend"
        : null;
    return {
      restart: async (units) => {
        for (const unit of units) {
          await this.call(`systemctl restart ${unit}`);
          const c = componentOf(unit);
          if (c) this.startUnit(c);
        }
        return Promise.resolve();
      },
      stop: async (unit) => {
        await this.call(`systemctl stop ${unit}`);
        const c = componentOf(unit);
        if (c) delete this.state.containers[this.config[c].container];
        return Promise.resolve();
      },
      start: async (unit) => {
        await this.call(`systemctl start ${unit}`);
        const c = componentOf(unit);
        if (c && !this.state.containers[this.config[c].container]) this.startUnit(c);
        return Promise.resolve();
      },
      // A crashed container under Restart=always: systemd shows the unit waiting to restart
      // (SubState auto-restart, NRestarts counted), as tests/harness/fake_systemctl.ts does.
      serviceState: async (unit) => {
        // As lib/host/systemd.ts: a failing `systemctl show` is "cannot say" (null), never a throw.
        if (await this.call(`systemctl show ${unit}`).then(() => false, () => true)) return null;
        const c = componentOf(unit);
        const container = c ? this.state.containers[this.config[c].container] : undefined;
        if (!container) return null;
        return container.running
          ? {
            activeState: "active",
            subState: "running",
            nRestarts: 0,
            execMainCode: null,
            execMainStatus: null,
          }
          : {
            activeState: "activating",
            subState: "auto-restart",
            nRestarts: 1,
            execMainCode: 1,
            execMainStatus: 1,
          };
      },
      activeState: (unit) => {
        const c = componentOf(unit);
        const running = c ? this.state.containers[this.config[c].container]?.running : false;
        return Promise.resolve(running ? "active" : "activating");
      },
      show: async () => await Promise.resolve({}),
      daemonReload: async () => await Promise.resolve(),
      enableNow: async () => await Promise.resolve(),
      disableNow: async () => await Promise.resolve(),
    };
  }
}
