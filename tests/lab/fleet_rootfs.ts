/**
 * The fleet hosts' root filesystem: the lab's cached rootfs plus an SSH server
 * and Python (what Ansible needs on a managed host), made once by copying the
 * base rootfs and running apt-get in the copy, cached beside it. The base cache
 * is only read, never rebuilt or changed, so a lab run using it is not
 * disturbed; the copy's name starts with the base's (`rootfs-<key>-fleet-…`),
 * which `ensureRootfs` keeps as not stale. The copy holds no SSH host key:
 * every host gets its own, made per run (tests/lab/fleet_ssh.ts).
 */
import { join } from "node:path";
import { run, runChecked } from "../../lib/host/exec.ts";
import { ensureRootfs } from "./rootfs.ts";

/** Debian packages added to the base rootfs: an SSH server and the Python Ansible's modules run on. */
export const FLEET_PACKAGES: readonly string[] = ["openssh-server", "python3"];

/** Bump when `prepare` changes what it does to the copy. */
const PREPARE_VERSION = 1;

async function shortHash(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest).slice(0, 6), (b) => b.toString(16).padStart(2, "0"))
    .join("");
}

/** Runs `argv` inside `root` (not booted) with the build machine's network, for apt-get. */
function inRoot(root: string, argv: string[]) {
  return runChecked(run, [
    "systemd-nspawn",
    "--quiet",
    "--register=no",
    "--keep-unit",
    "-D",
    root,
    "-E",
    "DEBIAN_FRONTEND=noninteractive",
    ...argv,
  ], { timeoutMs: 10 * 60_000 });
}

async function prepare(root: string): Promise<void> {
  // Host keys made at install time would be shared by every host of every run.
  for await (const e of Deno.readDir(join(root, "etc/ssh"))) {
    if (e.name.startsWith("ssh_host_")) await Deno.remove(join(root, "etc/ssh", e.name));
  }
  // Without a host key sshd cannot start: the fleet starts it once the host's key is in place.
  await Deno.remove(join(root, "etc/systemd/system/multi-user.target.wants/ssh.service"))
    .catch(() => {});
  await Deno.remove(join(root, "etc/systemd/system/sshd.service")).catch(() => {});
  for await (const e of Deno.readDir(join(root, "var/cache/apt/archives"))) {
    if (e.name.endsWith(".deb")) await Deno.remove(join(root, "var/cache/apt/archives", e.name));
  }
}

/**
 * Returns the path of the fleet rootfs, making it first when missing (about a
 * minute: a copy of the base and an apt-get install from the machine's mirror).
 */
export async function ensureFleetRootfs(log: (line: string) => void): Promise<string> {
  const base = await ensureRootfs(log);
  const key = await shortHash(JSON.stringify({ base, FLEET_PACKAGES, PREPARE_VERSION }));
  const root = `${base}-fleet-${key}`;
  const ready = `${root}.ok`;
  if (await Deno.stat(ready).then(() => true, () => false)) return root;
  const dir = join(base, "..");
  const prefix = `${base.split("/").at(-1)}-fleet-`;
  for await (const e of Deno.readDir(dir)) {
    if (e.name.startsWith(prefix) && !e.name.startsWith(`${prefix}${key}`)) {
      log(`removing stale fleet rootfs ${e.name}`);
      await Deno.remove(join(dir, e.name), { recursive: true });
    }
  }
  await Deno.remove(root, { recursive: true }).catch(() => {});
  const tmp = `${root}.tmp-${Deno.pid}`;
  const started = Date.now();
  log(`making the fleet rootfs ${key}: the base plus ${FLEET_PACKAGES.join(", ")}`);
  try {
    await runChecked(run, ["cp", "-a", base, tmp], { timeoutMs: 5 * 60_000 });
    await inRoot(tmp, ["apt-get", "update", "-qq"]);
    await inRoot(tmp, [
      "apt-get",
      "install",
      "-y",
      "-qq",
      "--no-install-recommends",
      ...FLEET_PACKAGES,
    ]);
    await prepare(tmp);
  } catch (err) {
    await run(["rm", "-rf", "--one-file-system", tmp]).catch(() => {});
    throw err;
  }
  await Deno.rename(tmp, root);
  await Deno.writeTextFile(ready, JSON.stringify({ base, packages: FLEET_PACKAGES }) + "\n");
  log(`fleet rootfs ${key} made in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return root;
}
