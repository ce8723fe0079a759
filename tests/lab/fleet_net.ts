/**
 * The fleet's network: a "LAN" network namespace with a bridge, where the
 * controller (Ansible) and the one registry live. Each host keeps the private
 * network namespace nspawn gives it (so its ports 8000/8080 never collide with
 * another host's, and nspawn grants what Podman's netavark needs there), plus a
 * veth pair nspawn makes (`--network-veth-extra`), whose outer end lands in the
 * LAN because nspawn is started inside it and is put on the bridge here. Nothing
 * of it is on the build machine's network. The LAN is held by a `sleep` of ours
 * (`unshare --net`), so it ends with that process: no named namespace, nothing
 * in /run/netns to leak. Addresses are in 198.18.0.0/24 (RFC 2544's range for
 * test networks), which no host's Podman network uses (10.88/16, 10.89/24).
 */
import { join } from "node:path";
import { run, runChecked } from "../../lib/host/exec.ts";
import type { Lab } from "./lab.ts";
import { BackgroundProcess, waitFor } from "./procs.ts";

/** The LAN's prefix length and the controller's (and registry's) address on it. */
export const LAN = { prefix: 24, controller: "198.18.0.1" } as const;

/** The address of the fleet's host number `n` (1-based). */
export function hostAddress(n: number): string {
  return `198.18.0.${10 + n}`;
}

/** A network namespace held by a process of ours. */
export class HeldNamespace {
  /** The holder's PID. */
  readonly pid: number;
  readonly #holder: BackgroundProcess;

  private constructor(holder: BackgroundProcess) {
    this.#holder = holder;
    this.pid = holder.pid;
  }

  /** Starts a holder in a new network namespace; resolves once it is in it. */
  static async create(label: string, logDir: string): Promise<HeldNamespace> {
    const holder = await BackgroundProcess.start(
      label,
      ["unshare", "--net", "--", "sleep", "infinity"],
      { logPath: join(logDir, `${label}.log`) },
    );
    const ours = await Deno.readLink("/proc/self/ns/net");
    // unshare creates the namespace, then becomes sleep: until then the PID is in ours
    await waitFor(`${label} to enter its network namespace`, async () => {
      if (holder.status) throw new Error(`unshare exited: ${await holder.logTail()}`);
      const comm = (await Deno.readTextFile(`/proc/${holder.pid}/comm`)).trim();
      const ns = await Deno.readLink(`/proc/${holder.pid}/ns/net`);
      return comm === "sleep" && ns !== ours ? true : undefined;
    }, { timeoutMs: 10_000, intervalMs: 20 });
    return new HeldNamespace(holder);
  }

  /** The namespace as a path (what `nsenter --net=` and nspawn take). */
  get path(): string {
    return `/proc/${this.pid}/ns/net`;
  }

  /** argv prefix running a build-machine program in this namespace. */
  argv(): string[] {
    return ["nsenter", `--net=${this.path}`, "--"];
  }

  /** Runs `ip ARGS` in this namespace. */
  async ip(...args: string[]): Promise<void> {
    await runChecked(run, [...this.argv(), "ip", ...args]);
  }

  /** Ends the holder (and with it the namespace, once nothing else is in it). */
  async stop(): Promise<void> {
    await this.#holder.stop({ graceMs: 2_000 });
  }
}

/** Brings the LAN up: loopback, and the bridge `br0` with the controller's address. */
export async function setUpLan(lan: HeldNamespace): Promise<void> {
  await lan.ip("link", "set", "lo", "up");
  await lan.ip("link", "add", "br0", "type", "bridge");
  await lan.ip("addr", "add", `${LAN.controller}/${LAN.prefix}`, "dev", "br0");
  await lan.ip("link", "set", "br0", "up");
}

/** The name of host `n`'s veth: its outer end on the LAN, its inner end in the host. */
export function vethNames(n: number): { outer: string; inner: string } {
  return { outer: `fleet${n}`, inner: "eth0" };
}

/** nspawn's argument making host `n`'s veth pair (which also gives it a private network). */
export function vethArg(n: number): string {
  const { outer, inner } = vethNames(n);
  return `--network-veth-extra=${outer}:${inner}`;
}

/** Puts host `n` on the LAN: its veth's outer end on the bridge, its address on the inner end. */
export async function wireHost(lan: HeldNamespace, lab: Lab, n: number): Promise<void> {
  const { outer, inner } = vethNames(n);
  await lan.ip("link", "set", outer, "master", "br0");
  await lan.ip("link", "set", outer, "up");
  await lab.exec(["ip", "addr", "add", `${hostAddress(n)}/${LAN.prefix}`, "dev", inner]);
  await lab.exec(["ip", "link", "set", inner, "up"]);
}
