/**
 * The fleet's controller: Debian's ansible-playbook, run on the build machine
 * inside the fleet's LAN namespace, playing the repository's own playbook
 * (examples/ansible/upgrade.yml, unmodified) against an inventory of the
 * fleet's hosts over SSH with strict host key checking. Each play runs in its
 * own process group, so that "the controller died" can be done for real (the
 * whole group SIGKILLed), and its environment is clean: only this run's
 * ansible.cfg, keys and home directory. What the play did is read from the
 * tool's JSON documents it keeps on the controller (`grapheon_report_dir`)
 * and from the hosts themselves, never from Ansible's text.
 */
import { join } from "node:path";
import { run } from "../../lib/host/exec.ts";
import type { Fleet } from "./fleet.ts";
import { sleep } from "./procs.ts";
import { REPO_ROOT } from "./rootfs.ts";

/** What the fleet runs on the build machine besides the lab's programs (tests/lab/setup.sh). */
export const FLEET_PROGRAMS = ["ansible-playbook", "ssh", "ssh-keygen", "unshare", "ip", "setsid"];

/** The playbook under test: the one the repository ships. */
export const PLAYBOOK = join(REPO_ROOT, "examples", "ansible", "upgrade.yml");

/** What one ansible-playbook run did. */
export interface PlayRun {
  /** Exit code, or null when it was killed. */
  code: number | null;
  /** Its whole output (for the log and for failure messages only). */
  output: string;
  /** Wall time from start to exit. */
  durationMs: number;
  /** The documents the play kept, by inventory name (parsed JSON). */
  reports: Map<string, Record<string, unknown>>;
}

const CLEAN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** Ansible on the fleet's LAN. */
export class Controller {
  readonly #fleet: Fleet;
  readonly #dir: string;
  #plays = 0;

  private constructor(fleet: Fleet, dir: string) {
    this.#fleet = fleet;
    this.#dir = dir;
  }

  /** Writes the controller's ansible.cfg and inventory (the playbook's groups: canary, prod). */
  static async create(fleet: Fleet): Promise<Controller> {
    if (!fleet.keys) throw new Error("the fleet has no controller keys yet");
    const dir = join(fleet.runDir, "controller");
    for (const sub of ["home", "cp", "tmp", "reports"]) {
      await Deno.mkdir(join(dir, sub), { recursive: true, mode: 0o700 });
    }
    const groups = ["canary", "prod"].map((group) =>
      [
        `[${group}]`,
        ...fleet.hosts.filter((h) => h.group === group).map((h) =>
          `${h.name} ansible_host=${h.address}`
        ),
      ].join("\n")
    );
    await Deno.writeTextFile(
      join(dir, "inventory.ini"),
      [...groups, "[all:vars]", "ansible_user=root", ""].join("\n\n"),
    );
    await Deno.writeTextFile(
      join(dir, "ansible.cfg"),
      [
        "[defaults]",
        `inventory = ${join(dir, "inventory.ini")}`,
        `private_key_file = ${fleet.keys.identity}`,
        "host_key_checking = True",
        "interpreter_python = /usr/bin/python3",
        "retry_files_enabled = False",
        `local_tmp = ${join(dir, "tmp")}`,
        "forks = 5",
        "",
        "[ssh_connection]",
        // Ansible's own default ssh_args (ControlPersist), plus this run's known_hosts, checked strictly.
        "ssh_args = -C -o ControlMaster=auto -o ControlPersist=60s -o BatchMode=yes " +
        `-o IdentitiesOnly=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=${fleet.keys.knownHosts}`,
        `control_path_dir = ${join(dir, "cp")}`,
        "control_path = %(directory)s/%%h",
        "",
      ].join("\n"),
    );
    return new Controller(fleet, dir);
  }

  /**
   * Plays the playbook with `vars` (passed as one JSON `-e`, with `grapheon_report_dir` set to a
   * fresh directory); `--check` when asked. With `killWhen`, the whole play's process group is
   * SIGKILLed as soon as it resolves true (polled every 100 ms).
   */
  async play(
    vars: Record<string, string>,
    options: { check?: boolean; killWhen?: () => Promise<boolean> } = {},
  ): Promise<PlayRun & { killed: boolean }> {
    const n = ++this.#plays;
    const reportDir = join(this.#dir, "reports", `play-${n}`);
    await Deno.mkdir(reportDir, { recursive: true });
    const env = {
      PATH: CLEAN_PATH,
      HOME: join(this.#dir, "home"),
      LANG: "C.UTF-8",
      ANSIBLE_CONFIG: join(this.#dir, "ansible.cfg"),
      ANSIBLE_NOCOLOR: "1",
    };
    const argv = [
      "/usr/bin/env",
      "-i",
      ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
      // its own session and process group: killing the group is killing the controller
      "setsid",
      "ansible-playbook",
      "-e",
      JSON.stringify({ ...vars, grapheon_report_dir: reportDir }),
      ...(options.check ? ["--check"] : []),
      PLAYBOOK,
    ];
    const started = Date.now();
    const proc = await this.#fleet.spawnOnLan(`play-${n}`, argv);
    let killed = false;
    if (options.killWhen) {
      while (proc.status === null) {
        if (await options.killWhen()) {
          await this.#killGroup(proc.pid);
          killed = true;
          break;
        }
        await sleep(100);
      }
    }
    const status = await proc.wait();
    const durationMs = Date.now() - started;
    await proc.stop();
    const output = await Deno.readTextFile(proc.logPath);
    const reports = new Map<string, Record<string, unknown>>();
    for await (const e of Deno.readDir(reportDir)) {
      if (!e.name.endsWith(".json")) continue;
      reports.set(
        e.name.replace(/\.json$/, ""),
        JSON.parse(await Deno.readTextFile(join(reportDir, e.name))),
      );
    }
    return { code: killed ? null : status.code, output, durationMs, reports, killed };
  }

  async #killGroup(pid: number): Promise<void> {
    const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
    // pgrp is the 5th field, after the parenthesised command name
    const pgrp = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]);
    if (pgrp !== pid) {
      throw new Error(`ansible-playbook ${pid} is not its group's leader (${pgrp})`);
    }
    this.#fleet.log(`SIGKILL to the play's process group ${pgrp}`);
    Deno.kill(-pgrp, "SIGKILL");
  }

  /** Ends the SSH master connections Ansible left (ControlPersist), by their control sockets. */
  async close(): Promise<void> {
    for (const host of this.#fleet.hosts) {
      const socket = join(this.#dir, "cp", host.address);
      if (!(await Deno.stat(socket).then(() => true, () => false))) continue;
      await run([
        ...this.#fleet.lanArgv(),
        "ssh",
        "-o",
        `ControlPath=${socket}`,
        "-O",
        "exit",
        `root@${host.address}`,
      ], { timeoutMs: 10_000 }).catch(() => {});
    }
  }
}
