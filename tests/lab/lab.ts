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
import assert from "node:assert/strict";
import { join } from "node:path";
import { run, type RunResult } from "../../lib/host/exec.ts";
import { BackgroundProcess, waitFor } from "./procs.ts";
import { publishReleases } from "./registry.ts";
import { copySource, freePort, hostContainersConf, systemdChild } from "./host_setup.ts";
import { Watchdog } from "./watchdog.ts";
import { ensureRootfs, labCacheDir, REPO_ROOT } from "./rootfs.ts";

/** How the lab is booted. */
export interface LabOptions {
  /** Machine name (also in log lines). */
  name?: string;
  /** Appended to the name (after GRAPHEON_LAB_NAME too): tells apart the hosts of one fleet. */
  nameSuffix?: string;
  /** Give the host its own network namespace (default true; needed for port mapping). */
  privateNetwork?: boolean;
  /** Build and push the fake releases (default true). */
  releases?: boolean;
  /** Progress lines. */
  log?: (line: string) => void;
  /** Boot this rootfs instead of the lab's cached one (the fleet's, with an SSH server). */
  rootfs?: string;
  /**
   * An argv prefix for systemd-nspawn (`nsenter --net=…`): interfaces nspawn makes for the
   * host (its veth's outer end) land in that namespace, the fleet's LAN.
   */
  nspawnPrefix?: string[];
  /** Extra systemd-nspawn arguments (the fleet's `--network-veth-extra=`). */
  nspawnArgs?: string[];
  /** The registry the host pulls from when it is not its own (with `releases: false`). */
  registry?: string;
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

const HOST_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

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
  readonly #rootfsOption: string | undefined;
  readonly #nspawnPrefix: string[];
  readonly #nspawnArgs: string[];
  #signalHandler: (() => void) | null = null;
  #watchdog: Watchdog | null = null;
  #tornDown = false;

  private constructor(options: LabOptions, runDir: string) {
    // GRAPHEON_LAB_NAME: a unique name when several checkouts boot labs on one machine.
    this.name = (Deno.env.get("GRAPHEON_LAB_NAME") ?? options.name ?? "grapheon-lab") +
      (options.nameSuffix ?? "");
    this.privateNetwork = options.privateNetwork ?? true;
    this.runDir = runDir;
    // In its own network namespace the host's port 5000 is free; otherwise pick one.
    this.registry = options.registry ?? `127.0.0.1:${this.privateNetwork ? 5000 : freePort()}`;
    this.#rootfsOption = options.rootfs;
    this.#nspawnPrefix = options.nspawnPrefix ?? [];
    this.#nspawnArgs = options.nspawnArgs ?? [];
    this.#log = options.log ?? ((line) => console.error(`[lab] ${line}`));
  }

  /** Boots a host, starts the registry and pushes the releases. Tears down on failure. */
  static async boot(options: LabOptions = {}): Promise<Lab> {
    const runDir = await Deno.makeTempDir({ prefix: "grapheon-lab-" });
    const lab = new Lab(options, runDir);
    try {
      await lab.#boot();
      if (options.releases ?? true) {
        await publishReleases(lab);
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
    this.#watchdog = Watchdog.start(this.runDir);
    this.#rootfs = this.#rootfsOption ?? await ensureRootfs(this.#log);
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
      ...this.#nspawnPrefix,
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
      ...this.#nspawnArgs,
    ], { logPath: join(this.runDir, "logs", "nspawn.log") });
    this.#watchdog?.guard(this.#nspawn.pid, "TERM");
    this.#installSignalHandler();
    const nspawn = this.#nspawn;
    this.leader = await waitFor("systemd to start inside the host", async () => {
      if (nspawn.status) throw new Error(`systemd-nspawn exited: ${await nspawn.logTail()}`);
      return await systemdChild(nspawn.pid);
    }, { timeoutMs: 30_000, intervalMs: 50 });
    this.#watchdog?.guard(this.leader, "KILL");
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
    this.#watchdog?.guard(proc.pid, "TERM");
    return proc;
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
    if (this.leader && processAlive(this.leader)) {
      // The host's journal goes with it: keep it with the logs, for failures.
      const journal = await this.exec(["journalctl", "--no-pager", "-o", "short-precise"], {
        check: false,
        timeoutMs: 20_000,
      }).catch(() => null);
      if (journal) {
        await Deno.writeTextFile(join(this.runDir, "logs", "journal.txt"), journal.stdout);
      }
    }
    for (const proc of this.#procs.reverse()) await proc.stop({ graceMs: 5_000 });
    let haltMs: number | null = null;
    if (this.#nspawn) {
      const nspawn = this.#nspawn;
      // SIGTERM asks nspawn to shut the host's systemd down cleanly. The grace outlasts
      // systemd's own bound on a stop job (DefaultTimeoutStopSec, 90 s): once a fleet host took
      // over 30 s to halt (its units had stopped; what it waited on is logged now).
      const haltFrom = Date.now();
      await nspawn.stop({ graceMs: 100_000 });
      haltMs = Date.now() - haltFrom;
      if (this.leader && processAlive(this.leader)) {
        // What kept the host from halting, for the failure message (it is gone after the kill).
        const left = await hostProcesses(this.leader);
        report.killed.push(`host systemd ${this.leader} (still running: ${left.join("; ")})`);
        try {
          Deno.kill(this.leader, "SIGKILL");
        } catch { /* gone */ }
      }
    }
    await this.#watchdog?.stop();
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
      `lab ${this.name} torn down${haltMs === null ? "" : ` (the host halted in ${haltMs} ms)`}${
        report.killed.length ? `, killed ${report.killed}` : ""
      }`,
    );
    return report;
  }
}

/** Whether a PID exists. */
/** Tears the host down and asserts it left nothing: no mount, nothing SIGKILLed, its systemd gone. */
export async function assertCleanTeardown(lab: Lab): Promise<void> {
  const leader = lab.leader;
  const report = await lab.teardown();
  assert.deepEqual(report.leakedMounts, []);
  assert.deepEqual(report.killed, []);
  assert.equal(processAlive(leader), false, "the host's systemd is gone");
}

export function processAlive(pid: number): boolean {
  try {
    Deno.kill(pid, "SIGCONT");
    return true;
  } catch {
    return false;
  }
}

/** `pid comm state cgroup` of every process in the PID namespace of `leader` (empty when unreadable). */
async function hostProcesses(leader: number): Promise<string[]> {
  const ns = await Deno.readLink(`/proc/${leader}/ns/pid`).catch(() => null);
  if (ns === null) return [];
  const found: string[] = [];
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      if ((await Deno.readLink(`/proc/${entry.name}/ns/pid`)) !== ns) continue;
      const stat = await Deno.readTextFile(`/proc/${entry.name}/stat`);
      // comm is in parentheses and may hold spaces: the state is the field after the last ')'.
      const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const state = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0];
      const unit = (await Deno.readTextFile(`/proc/${entry.name}/cgroup`)).trim().split("/").pop();
      found.push(`${entry.name} ${comm} ${state} ${unit}`);
    } catch { /* ended meanwhile */ }
  }
  return found;
}
