/**
 * Pieces of setting up a lab host: the host's containers.conf, the copy of the
 * tool's sources bound into it, finding its systemd, a free port.
 */
import { join } from "node:path";
import { run } from "../../lib/host/exec.ts";

/** The host's containers.conf (crun, no cgroups, small ulimits; host network when shared). */
export function hostContainersConf(privateNetwork: boolean): string {
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

/** The PID of the `systemd` child of systemd-nspawn `pid`, once it is there. */
export async function systemdChild(pid: number): Promise<number | undefined> {
  const children = await Deno.readTextFile(`/proc/${pid}/task/${pid}/children`).catch(() => "");
  for (const child of children.trim().split(/\s+/).filter(Boolean)) {
    const comm = await Deno.readTextFile(`/proc/${child}/comm`).catch(() => "");
    if (comm.trim() === "systemd") return Number(child);
  }
  return undefined;
}

/** A free TCP port on the build machine's 127.0.0.1. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Copies the tool's sources (not .git, caches or build output) to `dest`. */
export async function copySource(from: string, dest: string): Promise<void> {
  const skip = new Set([".git", ".cache", "dist", "node_modules"]);
  await Deno.mkdir(dest, { recursive: true });
  for await (const e of Deno.readDir(from)) {
    if (skip.has(e.name)) continue;
    await run(["cp", "-a", join(from, e.name), join(dest, e.name)]);
  }
}
