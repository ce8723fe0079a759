/**
 * The fleet lab: three lab hosts (systemd as PID 1 in systemd-nspawn, Podman,
 * the tool installed by its own `install --with-containers`), each in its own
 * network namespace with its own address on a shared LAN (tests/lab/fleet_net.ts),
 * one registry on that LAN that every host pulls from, and a controller
 * reaching each host over real SSH with this run's keys (tests/lab/fleet_ssh.ts)
 * for Ansible (tests/lab/fleet_ansible.ts). `teardown` ends everything it
 * started, by PID, pass or fail; a watchdog does it if the test process dies.
 */
import { join } from "node:path";
import { run, type RunResult } from "../../lib/host/exec.ts";
import { ensureFleetRootfs } from "./fleet_rootfs.ts";
import { HeldNamespace, hostAddress, LAN, setUpLan, vethArg, wireHost } from "./fleet_net.ts";
import { type ControllerKeys, controllerKeys, startSshd } from "./fleet_ssh.ts";
import { Lab, type TeardownReport } from "./lab.ts";
import { BackgroundProcess } from "./procs.ts";
import { publishReleases, type RegistryHost } from "./registry.ts";
import { labCacheDir } from "./rootfs.ts";
import { installTool } from "./tool.ts";
import { Watchdog } from "./watchdog.ts";

/** One host of the fleet: its inventory name and group, its address, its lab host. */
export interface FleetHost {
  /** Inventory name (`canary1`, `prod1`, …). */
  name: string;
  /** Inventory group. */
  group: "canary" | "prod";
  /** Its address on the LAN (where its sshd listens). */
  address: string;
  /** The booted host. */
  lab: Lab;
}

/** The hosts of the fleet, in inventory order. */
export const FLEET_LAYOUT = [
  { name: "canary1", group: "canary" },
  { name: "prod1", group: "prod" },
  { name: "prod2", group: "prod" },
] as const;

/** What the fleet's teardown found: each host's report, and processes of the fleet SIGKILLed. */
export interface FleetTeardown {
  /** Per host. */
  hosts: TeardownReport[];
  /** The fleet's own processes (namespace holders, registry) that needed SIGKILL. */
  killed: string[];
}

/** A booted fleet. Create with `Fleet.boot`, always end with `teardown`. */
export class Fleet {
  /** The fleet's scratch dir (keys, inventory, logs). */
  readonly runDir: string;
  /** The hosts, in inventory order. */
  readonly hosts: FleetHost[] = [];
  /** The registry every host pulls from. */
  readonly registry = `${LAN.controller}:5000`;
  /** The controller's SSH keys. */
  keys: ControllerKeys | null = null;
  readonly #log: (line: string) => void;
  readonly #procs: BackgroundProcess[] = [];
  #lan: HeldNamespace | null = null;
  #watchdog: Watchdog | null = null;
  #tornDown = false;

  private constructor(runDir: string, log: (line: string) => void) {
    this.runDir = runDir;
    this.#log = log;
  }

  /** Boots the LAN, the registry with the fake releases, and three hosts with the tool and sshd. */
  static async boot(options: { log?: (line: string) => void } = {}): Promise<Fleet> {
    const runDir = await Deno.makeTempDir({ prefix: "grapheon-fleet-" });
    const fleet = new Fleet(runDir, options.log ?? ((line) => console.error(`[fleet] ${line}`)));
    try {
      await fleet.#boot();
      return fleet;
    } catch (err) {
      await fleet.teardown().catch((e) => fleet.log(`teardown after failed boot: ${e}`));
      throw err;
    }
  }

  /** Logs a line. */
  log(line: string): void {
    this.#log(line);
  }

  /** argv prefix running a build-machine program on the LAN (the controller's place). */
  lanArgv(): string[] {
    if (!this.#lan) throw new Error("the fleet's LAN is not up");
    return this.#lan.argv();
  }

  /** Starts a build-machine process on the LAN, ended at teardown. */
  async spawnOnLan(
    label: string,
    argv: readonly string[],
    env?: Record<string, string>,
  ): Promise<BackgroundProcess> {
    const proc = await BackgroundProcess.start(label, [...this.lanArgv(), ...argv], {
      logPath: join(this.runDir, "logs", `${label}.log`),
      env,
    });
    this.#procs.push(proc);
    this.#watchdog?.guard(proc.pid, "TERM");
    return proc;
  }

  async #boot(): Promise<void> {
    const started = Date.now();
    await Deno.mkdir(join(this.runDir, "logs"));
    await Deno.mkdir(join(this.runDir, "files"));
    this.#watchdog = Watchdog.start(this.runDir);
    const rootfs = await ensureFleetRootfs(this.#log);
    this.#lan = await HeldNamespace.create("lan", join(this.runDir, "logs"));
    this.#watchdog.guard(this.#lan.pid, "TERM");
    await setUpLan(this.#lan);
    await publishReleases(this.#registryHost());
    this.keys = await controllerKeys(join(this.runDir, "controller"));
    const base = Deno.env.get("GRAPHEON_LAB_NAME") ?? "grapheon-fleet";
    const booted: FleetHost[] = [];
    // allSettled: a host that booted is torn down even when another one failed to boot
    const boots = await Promise.allSettled(FLEET_LAYOUT.map(async (spec, i) => {
      const lab = await Lab.boot({
        name: base,
        nameSuffix: `-${spec.name}`,
        rootfs,
        nspawnPrefix: this.lanArgv(),
        nspawnArgs: [vethArg(i + 1)],
        registry: this.registry,
        releases: false,
        log: (line) => this.#log(`${spec.name}: ${line}`),
      });
      booted[i] = { ...spec, address: hostAddress(i + 1), lab };
      await wireHost(this.#lan!, lab, i + 1);
    }));
    this.hosts.push(...booted.filter(Boolean));
    const failed = boots.find((b) => b.status === "rejected");
    if (failed) throw (failed as PromiseRejectedResult).reason;
    // Three installs at once: each is mostly waiting for Podman and the registry.
    await Promise.all(this.hosts.map(async (host) => {
      // the rootfs names every host grapheon-lab: give each its own name, as real hosts have
      await Deno.writeTextFile(host.lab.hostPath("/etc/hostname"), `${host.lab.name}\n`);
      await host.lab.exec(["hostname", host.lab.name]);
      await startSshd(host.lab, {
        address: host.address,
        keys: this.keys!,
        workDir: join(this.runDir, "controller"),
      });
      await installTool(host.lab);
    }));
    this.#log(`fleet of ${this.hosts.length} hosts up in ${Date.now() - started} ms`);
  }

  #registryHost(): RegistryHost {
    return {
      runDir: this.runDir,
      registry: this.registry,
      netnsArgv: () => this.lanArgv(),
      spawnInNetns: (label, argv) => this.spawnOnLan(label, argv.slice(0)),
      exec: (argv, options) => this.onLan(argv, options),
      log: (line) => this.#log(line),
    };
  }

  /** Runs a build-machine command on the LAN. */
  async onLan(argv: readonly string[], options: { check?: boolean } = {}): Promise<RunResult> {
    const result = await run([...this.lanArgv(), ...argv], { timeoutMs: 60_000 });
    if ((options.check ?? true) && result.code !== 0) {
      throw new Error(`on the LAN: ${argv.join(" ")} exited ${result.code}: ${result.stderr}`);
    }
    return result;
  }

  /**
   * Stops the hosts (each its own teardown), the registry and the namespace
   * holders; keeps the fleet's logs in the cache dir; removes the run dir.
   */
  async teardown(): Promise<FleetTeardown> {
    const report: FleetTeardown = { hosts: [], killed: [] };
    if (this.#tornDown) return report;
    this.#tornDown = true;
    report.hosts = await Promise.all(this.hosts.map((h) => h.lab.teardown()));
    for (const proc of this.#procs.reverse()) {
      const running = proc.status === null;
      await proc.stop({ graceMs: 5_000 });
      // SIGTERM was not enough (a play killed on purpose before teardown does not count)
      if (running && (await proc.wait()).signal === "SIGKILL") report.killed.push(proc.label);
    }
    await this.#lan?.stop();
    await this.#watchdog?.stop();
    const keep = join(labCacheDir(), "logs", Deno.env.get("GRAPHEON_LAB_NAME") ?? "grapheon-fleet");
    await Deno.remove(keep, { recursive: true }).catch(() => {});
    await Deno.mkdir(join(labCacheDir(), "logs"), { recursive: true });
    await run(["cp", "-r", join(this.runDir, "logs"), keep]).catch(() => {});
    await run(["rm", "-rf", "--one-file-system", this.runDir], { timeoutMs: 120_000 });
    this.#log("fleet torn down");
    return report;
  }
}
