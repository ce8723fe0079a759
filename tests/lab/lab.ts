/**
 * The lab host: a Debian rootfs booted with `systemd-nspawn` (systemd is PID 1
 * inside), Podman inside, a `docker-registry` on 127.0.0.1 of the host's own
 * network namespace, and the fake Graphēon releases pushed to it.
 *
 * By default the host gets a private network namespace (`--private-network`):
 * Podman's bridge networking and `-p 127.0.0.1:PORT:…` port mapping work there,
 * and nothing the lab does listens on the build machine. The registry and the
 * prober are build-machine processes that only enter that namespace (`nsenter
 * -n`); commands "on the host" enter all its namespaces. The rootfs is never
 * written (`--volatile=overlay`); Podman's storage is a directory of the run.
 * `teardown` ends every process the lab started, by PID, pass or fail, and
 * checks that no mount is left behind.
 */
import { join } from "node:path";
import { run, type RunResult } from "../../lib/exec.ts";
import { buildReleases, pushReleases, RELEASES } from "./images.ts";
import { BackgroundProcess, waitFor } from "./procs.ts";
import { ensureRootfs, labCacheDir, REPO_ROOT } from "./rootfs.ts";

/** How the lab is booted. */
export interface LabOptions {
  /** Machine name (also in log lines). */
  name?: string;
  /** Give the host its own network namespace (default true; needed for port mapping). */
  privateNetwork?: boolean;
  /** Build and push the fake releases (default true). */
  releases?: boolean;
  /** Progress lines. */
  log?: (line: string) => void;
}

/** Options for a command run on the lab host. */
export interface ExecOptions {
  /** Standard input text. */
  stdin?: string;
  /** Timeout (default 120 s). */
  timeoutMs?: number;
  /** Extra environment. */
  env?: Record<string, string>;
  /** Throw when the exit code is not 0 (default true). */
  check?: boolean;
}

/** What teardown found and did. */
export interface TeardownReport {
  /** Mount points under the lab's paths still present after the host stopped (then unmounted). */
  leakedMounts: string[];
  /** Processes the lab started that had to be SIGKILLed. */
  killed: string[];
}

/**
 * The watchdog: a shell loop that outlives the lab's process if that process
 * dies without tearing down (SIGINT under `deno test` exits at once, SIGKILL,
 * a crash). It waits for the lab process to be gone, then ends the PIDs listed
 * in the pids file (`TERM pid`: SIGTERM first; `KILL pid`: only SIGKILL, for
 * the host's systemd, which re-executes itself on SIGTERM), and removes the
 * run dir. A normal teardown empties the file and stops the watchdog.
 */
const WATCHDOG = `
parent=$1; file=$2; dir=$3
while kill -0 "$parent" 2>/dev/null; do sleep 0.5; done
[ -s "$file" ] || exit 0
for p in $(sed -n 's/^TERM //p' "$file"); do kill -TERM "$p" 2>/dev/null; done
i=0
while [ $i -lt 60 ]; do
  alive=0
  for p in $(sed -n 's/^TERM //p' "$file"); do kill -0 "$p" 2>/dev/null && alive=1; done
  [ $alive = 0 ] && break
  sleep 0.5; i=$((i+1))
done
for p in $(cut -d' ' -f2 "$file"); do kill -KILL "$p" 2>/dev/null; done
sleep 1
rm -rf --one-file-system "$dir"
`;

const HOST_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

function hostContainersConf(privateNetwork: boolean): string {
  // crun, no cgroup management and small ulimits: what works in nspawn here (docs/lab.md).
  return [
    "[containers]",
    'cgroups = "disabled"',
    "keyring = false",
    'default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]',
    ...(privateNetwork ? [] : ['netns = "host"', "default_sysctls = []"]),
    "[engine]",
    'runtime = "crun"',
    'cgroup_manager = "cgroupfs"',
    'events_logger = "file"',
    "",
  ].join("\n");
}

/** A booted lab host. Create with `Lab.boot`, always end with `teardown`. */
export class Lab {
  /** Machine name. */
  readonly name: string;
  /** Whether the host has its own network namespace. */
  readonly privateNetwork: boolean;
  /** The run's scratch directory on the build machine. */
  readonly runDir: string;
  /** The registry address as the host sees it (`127.0.0.1:PORT`). */
  readonly registry: string;
  /** PID of systemd (PID 1 inside the host). */
  leader = 0;
  readonly #log: (line: string) => void;
  readonly #procs: BackgroundProcess[] = [];
  #nspawn: BackgroundProcess | null = null;
  #rootfs = "";
  #signalHandler: (() => void) | null = null;
  #watchdog: Deno.ChildProcess | null = null;
  #tornDown = false;

  private constructor(options: LabOptions, runDir: string) {
    this.name = options.name ?? "grapheon-lab";
    this.privateNetwork = options.privateNetwork ?? true;
    this.runDir = runDir;
    // In its own network namespace the host's port 5000 is free; otherwise pick one.
    this.registry = `127.0.0.1:${this.privateNetwork ? 5000 : freePort()}`;
    this.#log = options.log ?? ((line) => console.error(`[lab] ${line}`));
  }

  /** Boots a host, starts the registry and pushes the releases. Tears down on failure. */
  static async boot(options: LabOptions = {}): Promise<Lab> {
    const runDir = await Deno.makeTempDir({ prefix: "grapheon-lab-" });
    const lab = new Lab(options, runDir);
    try {
      await lab.#boot();
      if (options.releases ?? true) {
        const stamp = await buildReleases(lab.#log);
        // The registry's storage after the pushes is cached by the images' hash: pushing
        // 44 tags takes 10-20 s, copying the result 0.1 s.
        const cached = join(labCacheDir(), "registry", stamp.slice(0, 16));
        const fresh = !(await Deno.stat(`${cached}.ok`).then(() => true, () => false));
        if (!fresh) await run(["cp", "-a", cached, join(lab.runDir, "registry")]);
        await lab.startRegistry();
        if (fresh) {
          await pushReleases({ registry: lab.registry, netns: lab.netnsArgv(), log: lab.#log });
          await Deno.remove(join(labCacheDir(), "registry"), { recursive: true }).catch(() => {});
          await Deno.mkdir(join(labCacheDir(), "registry"), { recursive: true });
          await run(["cp", "-a", join(lab.runDir, "registry"), cached]);
          await Deno.writeTextFile(`${cached}.ok`, "");
        } else {
          lab.#log(`registry storage with the ${RELEASES.length} releases copied from the cache`);
        }
      }
      return lab;
    } catch (err) {
      await lab.teardown().catch((e) => lab.#log(`teardown after failed boot: ${e}`));
      throw err;
    }
  }

  /** Logs a line. */
  log(line: string): void {
    this.#log(line);
  }

  async #boot(): Promise<void> {
    this.#startWatchdog();
    this.#rootfs = await ensureRootfs(this.#log);
    const files = join(this.runDir, "files");
    const src = join(this.runDir, "src");
    await Deno.mkdir(join(files, "registries.conf.d"), { recursive: true });
    await Deno.mkdir(join(this.runDir, "containers"));
    await Deno.mkdir(join(this.runDir, "logs"));
    await Deno.writeTextFile(
      join(files, "containers.conf"),
      hostContainersConf(this.privateNetwork),
    );
    await Deno.writeTextFile(
      join(files, "registries.conf.d", "50-grapheon-lab.conf"),
      `# The lab registry is plain HTTP on loopback.\n[[registry]]\nlocation = "${this.registry}"\ninsecure = true\n`,
    );
    // GRAPHEON_LAB_SRC: test another checkout (a branch, a patched copy) than this one.
    await copySource(Deno.env.get("GRAPHEON_LAB_SRC") ?? REPO_ROOT, src);
    const binds = [
      `--bind-ro=${join(files, "containers.conf")}:/etc/containers/containers.conf`,
      `--bind-ro=${join(files, "registries.conf.d")}:/etc/containers/registries.conf.d`,
      `--bind=${join(this.runDir, "containers")}:/var/lib/containers`,
      `--bind-ro=${await Deno.realPath(Deno.execPath())}:/usr/local/bin/deno`,
      `--bind-ro=${src}:/usr/local/src/grapheon-tool`,
    ];
    const started = Date.now();
    this.#nspawn = await BackgroundProcess.start("systemd-nspawn", [
      "systemd-nspawn",
      "--quiet",
      "-D",
      this.#rootfs,
      "-b",
      "--register=no",
      "--keep-unit",
      "--console=pipe",
      `--machine=${this.name}`,
      "--volatile=overlay",
      ...(this.privateNetwork ? ["--private-network"] : []),
      ...binds,
    ], { logPath: join(this.runDir, "logs", "nspawn.log") });
    this.#guard(this.#nspawn.pid, "TERM");
    this.#installSignalHandler();
    const nspawn = this.#nspawn;
    this.leader = await waitFor("systemd to start inside the host", async () => {
      if (nspawn.status) throw new Error(`systemd-nspawn exited: ${await nspawn.logTail()}`);
      return await systemdChild(nspawn.pid);
    }, { timeoutMs: 30_000, intervalMs: 50 });
    this.#guard(this.leader, "KILL");
    // systemctl fails until PID 1 has its private socket: retry until it answers.
    const booted = await waitFor("the host to finish booting", async () => {
      const state = await this.exec(["systemctl", "is-system-running", "--wait"], {
        check: false,
        timeoutMs: 90_000,
      });
      const word = state.stdout.trim();
      if (word === "running" || word === "degraded") return word;
      throw new Error(`is-system-running: ${word} ${state.stderr.trim()}`);
    }, { timeoutMs: 90_000, intervalMs: 100 });
    if (booted === "degraded") {
      const failed = await this.exec(["systemctl", "--failed", "--no-legend"], { check: false });
      this.#log(`host booted degraded: ${failed.stdout.trim()}`);
    }
    this.#log(
      `host ${this.name} booted (systemd pid ${this.leader}) in ${Date.now() - started} ms`,
    );
  }

  #pidsFile(): string {
    return join(this.runDir, "pids");
  }

  #startWatchdog(): void {
    Deno.writeTextFileSync(this.#pidsFile(), "");
    this.#watchdog = new Deno.Command("/bin/sh", {
      args: ["-c", WATCHDOG, "lab-watchdog", String(Deno.pid), this.#pidsFile(), this.runDir],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    this.#watchdog.unref();
  }

  /** Records a PID for the watchdog (`TERM` then `KILL`, or `KILL` only). */
  #guard(pid: number, how: "TERM" | "KILL"): void {
    Deno.writeTextFileSync(this.#pidsFile(), `${how} ${pid}\n`, { append: true });
  }

  #installSignalHandler(): void {
    const handler = () => {
      this.#log("interrupted: tearing the lab down");
      this.teardown().finally(() => Deno.exit(130));
    };
    this.#signalHandler = handler;
    Deno.addSignalListener("SIGINT", handler);
    Deno.addSignalListener("SIGTERM", handler);
  }

  /** argv prefix entering only the host's network namespace (build machine's files). */
  netnsArgv(): string[] {
    return ["nsenter", "-t", String(this.leader), "-n", "--"];
  }

  /** The build-machine path of a path inside the running host. */
  hostPath(path: string): string {
    return `/proc/${this.leader}/root${path}`;
  }

  /** Runs `argv` on the host (all its namespaces, a clean environment). */
  async exec(argv: readonly string[], options: ExecOptions = {}): Promise<RunResult> {
    const env = Object.entries({ PATH: HOST_PATH, HOME: "/root", LANG: "C.UTF-8", ...options.env })
      .map(([k, v]) => `${k}=${v}`);
    const full = [
      "nsenter",
      "-t",
      String(this.leader),
      "-m",
      "-u",
      "-i",
      "-p",
      "-n",
      "--",
      "/usr/bin/env",
      "-i",
      ...env,
      ...argv,
    ];
    const result = await run(full, {
      stdin: options.stdin,
      timeoutMs: options.timeoutMs ?? 120_000,
    });
    if ((options.check ?? true) && result.code !== 0) {
      throw new Error(
        `on the host: ${argv.join(" ")} exited ${result.code}: ${
          (result.stderr || result.stdout).trim().split("\n").slice(-10).join("\n")
        }`,
      );
    }
    return result;
  }

  /** `systemctl ARGS` on the host; returns stdout. */
  async systemctl(...args: string[]): Promise<string> {
    return (await this.exec(["systemctl", ...args])).stdout;
  }

  /** The last lines of a unit's journal on the host (for failure messages). */
  async journal(unit: string, lines = 60): Promise<string> {
    const r = await this.exec([
      "journalctl",
      "--no-pager",
      "-o",
      "cat",
      "-n",
      String(lines),
      "-u",
      unit,
    ], {
      check: false,
    });
    return r.stdout;
  }

  /** Starts a process on the build machine inside the host's network namespace, stopped at teardown. */
  async spawnInNetns(label: string, argv: readonly string[]): Promise<BackgroundProcess> {
    const proc = await BackgroundProcess.start(label, [...this.netnsArgv(), ...argv], {
      logPath: join(this.runDir, "logs", `${label}.log`),
    });
    this.#procs.push(proc);
    this.#guard(proc.pid, "TERM");
    return proc;
  }

  /** Starts `docker-registry` on 127.0.0.1 of the host's network and waits until it answers. */
  async startRegistry(): Promise<void> {
    const dir = join(this.runDir, "registry");
    await Deno.mkdir(dir, { recursive: true });
    const config = join(this.runDir, "files", "registry.yml");
    await Deno.writeTextFile(
      config,
      [
        "version: 0.1",
        "log:",
        "  level: warn",
        "storage:",
        "  filesystem:",
        `    rootdirectory: ${dir}`,
        "http:",
        `  addr: ${this.registry}`,
        "",
      ].join("\n"),
    );
    const registry = await this.spawnInNetns("registry", ["docker-registry", "serve", config]);
    await waitFor("the registry to answer", async () => {
      if (registry.status) throw new Error(`docker-registry exited: ${await registry.logTail()}`);
      const r = await this.exec(["curl", "-sf", `http://${this.registry}/v2/`], { check: false });
      return r.code === 0 ? true : undefined;
    }, { timeoutMs: 15_000, intervalMs: 100 });
    this.#log(`registry on ${this.registry} (pid ${registry.pid})`);
  }

  /**
   * Stops everything the lab started (its own processes, then the host: SIGTERM
   * to systemd-nspawn, SIGKILL to the host's PID 1 if it does not end), removes
   * the run dir (its logs are kept in the cache dir) and reports leaks.
   */
  async teardown(): Promise<TeardownReport> {
    const report: TeardownReport = { leakedMounts: [], killed: [] };
    if (this.#tornDown) return report;
    this.#tornDown = true;
    for (const proc of this.#procs.reverse()) await proc.stop({ graceMs: 5_000 });
    if (this.#nspawn) {
      const nspawn = this.#nspawn;
      // SIGTERM asks nspawn to shut the host's systemd down cleanly.
      await nspawn.stop({ graceMs: 30_000 });
      if (this.leader && processAlive(this.leader)) {
        report.killed.push(`host systemd ${this.leader}`);
        try {
          Deno.kill(this.leader, "SIGKILL");
        } catch { /* gone */ }
      }
    }
    if (this.#watchdog) {
      await Deno.writeTextFile(this.#pidsFile(), "").catch(() => {});
      // It was unref'd (it must not keep the process alive); awaiting it needs a ref.
      this.#watchdog.ref();
      try {
        this.#watchdog.kill("SIGKILL");
      } catch { /* gone */ }
      await this.#watchdog.status;
    }
    if (this.#signalHandler) {
      Deno.removeSignalListener("SIGINT", this.#signalHandler);
      Deno.removeSignalListener("SIGTERM", this.#signalHandler);
    }
    const mountinfo = await Deno.readTextFile("/proc/self/mountinfo");
    for (const line of mountinfo.split("\n")) {
      const point = line.split(" ")[4];
      if (
        point && (point.startsWith(this.runDir) || (this.#rootfs && point.startsWith(this.#rootfs)))
      ) {
        report.leakedMounts.push(point);
      }
    }
    for (const point of [...report.leakedMounts].reverse()) {
      await run(["umount", "-l", point]).catch(() => {});
    }
    const keep = join(labCacheDir(), "logs", this.name);
    await Deno.remove(keep, { recursive: true }).catch(() => {});
    await Deno.mkdir(join(labCacheDir(), "logs"), { recursive: true });
    await run(["cp", "-r", join(this.runDir, "logs"), keep]).catch(() => {});
    await run(["rm", "-rf", "--one-file-system", this.runDir], { timeoutMs: 120_000 });
    this.#log(
      `lab ${this.name} torn down${report.killed.length ? `, killed ${report.killed}` : ""}`,
    );
    return report;
  }
}

/** Whether a PID exists. */
export function processAlive(pid: number): boolean {
  try {
    Deno.kill(pid, "SIGCONT");
    return true;
  } catch {
    return false;
  }
}

async function systemdChild(pid: number): Promise<number | undefined> {
  const children = await Deno.readTextFile(`/proc/${pid}/task/${pid}/children`).catch(() => "");
  for (const child of children.trim().split(/\s+/).filter(Boolean)) {
    const comm = await Deno.readTextFile(`/proc/${child}/comm`).catch(() => "");
    if (comm.trim() === "systemd") return Number(child);
  }
  return undefined;
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Copies the tool's sources (not .git, caches or build output) to `dest`. */
async function copySource(from: string, dest: string): Promise<void> {
  const skip = new Set([".git", ".cache", "dist", "node_modules"]);
  await Deno.mkdir(dest, { recursive: true });
  for await (const e of Deno.readDir(from)) {
    if (skip.has(e.name)) continue;
    await run(["cp", "-a", join(from, e.name), join(dest, e.name)]);
  }
}
