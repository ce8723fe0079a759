/**
 * The lab host's root filesystem: a Debian bookworm made by `debootstrap` with
 * systemd, Podman and crun, cached under `.cache/lab/` and keyed by a hash of
 * its package list (and suite, mirror and preparation steps), so that it is
 * built once (about a minute) and reused by every run. Runs never change it:
 * the host boots with `--volatile=overlay`, writes go to a throwaway layer.
 */
import { join, resolve } from "node:path";
import { run } from "../../lib/host/exec.ts";

/** Debian packages of the lab host (the key of the cache). */
export const ROOTFS_PACKAGES: readonly string[] = [
  "systemd",
  "systemd-sysv",
  "dbus",
  "podman",
  "netavark",
  "aardvark-dns",
  "containernetworking-plugins",
  "iptables",
  "runc",
  "crun",
  "fuse-overlayfs",
  "uidmap",
  "busybox-static",
  "iproute2",
  "curl",
  "ca-certificates",
  "procps",
];

/** The Debian suite the host runs (the build machine's). */
export const ROOTFS_SUITE = "bookworm";

/** Bump when `prepare` changes what it does to a fresh rootfs. */
const PREPARE_VERSION = 1;

/** Timers and services of a stock Debian that would only add noise to a lab run. */
const NOISE_UNITS = [
  "timers.target.wants/apt-daily.timer",
  "timers.target.wants/apt-daily-upgrade.timer",
  "timers.target.wants/dpkg-db-backup.timer",
  "timers.target.wants/e2scrub_all.timer",
  "timers.target.wants/fstrim.timer",
  "timers.target.wants/podman-auto-update.timer",
  "multi-user.target.wants/e2scrub_reap.service",
];

/** The repository root (two levels above this file). */
export const REPO_ROOT = resolve(import.meta.dirname!, "..", "..");

/** Where the lab caches its rootfs and build images: `$GRAPHEON_LAB_CACHE` or `.cache/lab`. */
export function labCacheDir(): string {
  return Deno.env.get("GRAPHEON_LAB_CACHE") ?? join(REPO_ROOT, ".cache", "lab");
}

/**
 * The Debian mirror: `$GRAPHEON_LAB_MIRROR`, else the first non-security Debian
 * URI in the machine's apt sources (one-line or deb822), else deb.debian.org.
 */
export async function debianMirror(): Promise<string> {
  const fromEnv = Deno.env.get("GRAPHEON_LAB_MIRROR");
  if (fromEnv) return fromEnv;
  const files = ["/etc/apt/sources.list"];
  try {
    for await (const e of Deno.readDir("/etc/apt/sources.list.d")) {
      files.push(join("/etc/apt/sources.list.d", e.name));
    }
  } catch { /* no directory */ }
  for (const file of files) {
    const text = await Deno.readTextFile(file).catch(() => "");
    for (const line of text.split("\n")) {
      const m = line.match(/^\s*(?:URIs:|deb)\s+(https?:\/\/\S+)/);
      if (m && /\/debian\/?$/.test(m[1])) return m[1];
    }
  }
  return "http://deb.debian.org/debian";
}

/** The cache key: a short SHA-256 of everything that decides the rootfs's content. */
export async function rootfsKey(mirror: string): Promise<string> {
  const text = JSON.stringify({
    packages: [...ROOTFS_PACKAGES].sort(),
    suite: ROOTFS_SUITE,
    mirror,
    prepare: PREPARE_VERSION,
    arch: Deno.build.arch,
  });
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest).slice(0, 8), (b) => b.toString(16).padStart(2, "0"))
    .join("");
}

async function prepare(root: string): Promise<void> {
  for (const unit of NOISE_UNITS) {
    await Deno.remove(join(root, "etc/systemd/system", unit)).catch(() => {});
  }
  await Deno.writeTextFile(join(root, "etc/hostname"), "grapheon-lab\n");
  // The downloaded .debs are a third of the size and never used again.
  for await (const e of Deno.readDir(join(root, "var/cache/apt/archives"))) {
    if (e.name.endsWith(".deb")) await Deno.remove(join(root, "var/cache/apt/archives", e.name));
  }
}

/**
 * Returns the path of the cached rootfs, building it first when missing (logs
 * through `log`). Other cached rootfs versions are removed.
 */
export async function ensureRootfs(log: (line: string) => void): Promise<string> {
  const cache = labCacheDir();
  await Deno.mkdir(cache, { recursive: true });
  const mirror = await debianMirror();
  const key = await rootfsKey(mirror);
  const root = join(cache, `rootfs-${key}`);
  const ready = join(cache, `rootfs-${key}.ok`);
  for await (const e of Deno.readDir(cache)) {
    if (e.name.startsWith("rootfs-") && !e.name.startsWith(`rootfs-${key}`)) {
      log(`removing stale rootfs ${e.name}`);
      await Deno.remove(join(cache, e.name), { recursive: true });
    }
  }
  if (await Deno.stat(ready).then(() => true, () => false)) return root;
  await Deno.remove(root, { recursive: true }).catch(() => {});
  const tmp = `${root}.tmp-${Deno.pid}`;
  log(`building rootfs ${key} with debootstrap from ${mirror} (about a minute, once)`);
  const started = Date.now();
  const result = await run([
    "debootstrap",
    "--variant=minbase",
    `--include=${ROOTFS_PACKAGES.join(",")}`,
    ROOTFS_SUITE,
    tmp,
    mirror,
  ], { timeoutMs: 15 * 60_000 });
  if (result.code !== 0) {
    const logTail = await Deno.readTextFile(join(tmp, "debootstrap/debootstrap.log"))
      .catch(() => result.stderr);
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    throw new Error(
      `debootstrap exited ${result.code}: ${logTail.split("\n").slice(-15).join("\n")}`,
    );
  }
  await prepare(tmp);
  await Deno.rename(tmp, root);
  await Deno.writeTextFile(
    ready,
    JSON.stringify({ key, mirror, suite: ROOTFS_SUITE, packages: ROOTFS_PACKAGES }, null, 2) +
      "\n",
  );
  log(`rootfs ${key} built in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return root;
}
