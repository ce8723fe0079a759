/**
 * The fake Graphēon releases: images built `FROM scratch` with Debian's static
 * busybox, `fdserve` (app/fdserve.c, built static with gcc) and the shell sources in `app/`, in a Podman storage of the lab's own
 * under the cache dir (never the machine's), then pushed to the lab registry as
 * `grapheon-{backend,frontend}:vX.Y.Z` (and `:latest` = the seed release).
 * Each backend release has a behaviour baked in: good, needs-jwt (refuses to
 * start without JWT_SECRET, as the real 0.10.4), unhealthy (503), wrong-version
 * (reports another version), slow (starts late).
 */
import { join } from "node:path";
import { run, runChecked } from "../../lib/host/exec.ts";
import { labCacheDir } from "./rootfs.ts";

/** How a fake backend release behaves. */
export type Behavior = "good" | "needs-jwt" | "unhealthy" | "wrong-version" | "slow";

/** One fake release (backend and frontend share the version). */
export interface Release {
  /** Version without `v`. */
  version: string;
  /** The backend's behaviour. */
  behavior: Behavior;
}

/** The release the host starts on (pushed as `:latest` too). */
export const SEED_VERSION = "0.1.0";

/** Good releases, in upgrade order, after the seed. */
export const GOOD_VERSIONS: readonly string[] = [
  "0.2.0",
  "0.3.0",
  "0.4.0",
  "0.5.0",
  "0.6.0",
  "0.7.0",
  "0.8.0",
  "0.9.0",
  "0.9.1",
  "0.9.2",
  "0.9.3",
  "0.9.4",
];

/** Releases that must not end up serving, by behaviour. */
export const BAD_VERSIONS = {
  /** Exits at start-up without `JWT_SECRET` (the host's env file has none). */
  needsJwt: "0.10.4",
  /** Starts, but `/health` answers 503 `unhealthy`. */
  unhealthy: "0.11.0",
  /** Healthy, but reports version `WRONG_REPORTED_VERSION`. */
  wrongVersion: "0.12.0",
} as const;

/** Good releases that sleep `SLOW_SECONDS` before they listen (the tool must wait for them). */
export const SLOW_VERSIONS: readonly string[] = ["0.13.0", "0.14.0"];
/** Good releases after the slow ones. */
export const LATE_GOOD_VERSIONS: readonly string[] = ["0.15.0", "0.16.0", "0.17.0"];
/** How long the slow releases take to start. */
export const SLOW_SECONDS = 6;
/** What the wrong-version release reports. */
export const WRONG_REPORTED_VERSION = "0.1.0";

/** Every release the lab pushes. */
export const RELEASES: readonly Release[] = [
  { version: SEED_VERSION, behavior: "good" },
  ...GOOD_VERSIONS.map((version) => ({ version, behavior: "good" as const })),
  { version: BAD_VERSIONS.needsJwt, behavior: "needs-jwt" },
  { version: BAD_VERSIONS.unhealthy, behavior: "unhealthy" },
  { version: BAD_VERSIONS.wrongVersion, behavior: "wrong-version" },
  ...SLOW_VERSIONS.map((version) => ({ version, behavior: "slow" as const })),
  ...LATE_GOOD_VERSIONS.map((version) => ({ version, behavior: "good" as const })),
];

const APP_DIR = join(import.meta.dirname!, "app");
const BASE_IMAGE = "localhost/grapheon-lab-busybox:latest";

/** The lab's own Podman on the build machine (its own storage and a containers.conf). */
export async function buildPodman(): Promise<{ argv: string[]; env: Record<string, string> }> {
  const dir = join(labCacheDir(), "podman");
  await Deno.mkdir(dir, { recursive: true });
  const conf = join(dir, "containers.conf");
  // runc + cgroupfs + small ulimits: what works on the build machine (see docs/lab.md).
  await Deno.writeTextFile(
    conf,
    [
      "[containers]",
      'default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]',
      "[engine]",
      'runtime = "runc"',
      'cgroup_manager = "cgroupfs"',
      'events_logger = "file"',
      "",
    ].join("\n"),
  );
  return {
    argv: ["podman", "--root", join(dir, "root"), "--runroot", join(dir, "run")],
    env: { CONTAINERS_CONF: conf },
  };
}

/** The local (build storage) name of a fake release image. */
export function localImage(kind: "backend" | "frontend", version: string): string {
  return `localhost/grapheon-lab-${kind}:${version}`;
}

async function buildBase(podman: { argv: string[]; env: Record<string, string> }): Promise<void> {
  const ctx = await Deno.makeTempDir({ prefix: "grapheon-lab-base-" });
  try {
    const bin = join(ctx, "rootfs", "bin");
    await Deno.mkdir(bin, { recursive: true });
    await Deno.mkdir(join(ctx, "rootfs", "tmp"), { mode: 0o1777 });
    await Deno.chmod(join(ctx, "rootfs", "tmp"), 0o1777);
    await Deno.copyFile("/bin/busybox", join(bin, "busybox"));
    await Deno.chmod(join(bin, "busybox"), 0o755);
    const list = await runChecked(run, ["/bin/busybox", "--list"]);
    for (const applet of list.stdout.split("\n").map((s) => s.trim()).filter(Boolean)) {
      if (applet !== "busybox") await Deno.symlink("busybox", join(bin, applet));
    }
    // The fakes' server for a socket Podman passes in (socket activation), static like busybox.
    await runChecked(run, [
      "gcc",
      "-static",
      "-Os",
      "-s",
      "-o",
      join(bin, "fdserve"),
      join(APP_DIR, "fdserve.c"),
    ], { timeoutMs: 120_000 });
    await Deno.copyFile(join(APP_DIR, "Containerfile.busybox"), join(ctx, "Containerfile"));
    await runChecked(run, [...podman.argv, "build", "-q", "-t", BASE_IMAGE, ctx], {
      env: podman.env,
      timeoutMs: 120_000,
    });
  } finally {
    await Deno.remove(ctx, { recursive: true });
  }
}

/**
 * Builds the base image and every release, unless they are there and their
 * sources unchanged; returns the hash of those sources. Needs `/bin/busybox`
 * from Debian's busybox-static, and gcc with a static libc (libc6-dev).
 */
export async function buildReleases(log: (line: string) => void): Promise<string> {
  const podman = await buildPodman();
  const started = Date.now();
  const stampPath = join(labCacheDir(), "podman", "releases.stamp");
  const stamp = await sourcesStamp();
  const wanted = RELEASES.flatMap((
    r,
  ) => [localImage("backend", r.version), localImage("frontend", r.version)]);
  if (await Deno.readTextFile(stampPath).catch(() => "") === stamp) {
    const have = await run([...podman.argv, "images", "--format", "{{.Repository}}:{{.Tag}}"], {
      env: podman.env,
    });
    const names = new Set(have.stdout.split("\n"));
    if (wanted.every((w) => names.has(w))) {
      log(`fake release images up to date (${wanted.length})`);
      return stamp;
    }
  }
  await Deno.remove(stampPath).catch(() => {});
  await buildBase(podman);
  const jobs: [Release, "backend" | "frontend"][] = RELEASES.flatMap((r) => [
    [r, "backend"] as [Release, "backend"],
    [r, "frontend"] as [Release, "frontend"],
  ]);
  const renderDir = await Deno.makeTempDir({ prefix: "grapheon-lab-containerfiles-" });
  const worker = async () => {
    for (let job = jobs.shift(); job; job = jobs.shift()) {
      const [release, kind] = job;
      const values: Record<string, string> = {
        APP_VERSION: release.version,
        FAKE_BEHAVIOR: release.behavior,
        FAKE_REPORTED_VERSION: WRONG_REPORTED_VERSION,
        FAKE_SLOW_SECONDS: String(SLOW_SECONDS),
      };
      const template = await Deno.readTextFile(join(APP_DIR, `Containerfile.${kind}`));
      const file = join(renderDir, `Containerfile.${kind}-${release.version}`);
      await Deno.writeTextFile(file, template.replace(/@([A-Z_]+)@/g, (_, k) => values[k]));
      await runChecked(run, [
        ...podman.argv,
        "build",
        "-q",
        "--pull=never",
        "-f",
        file,
        "-t",
        localImage(kind, release.version),
        APP_DIR,
      ], { env: podman.env, timeoutMs: 120_000 });
    }
  };
  try {
    await Promise.all([worker(), worker()]);
  } finally {
    await Deno.remove(renderDir, { recursive: true });
  }
  await checkDistinct(podman, wanted);
  await Deno.writeTextFile(stampPath, stamp);
  log(`built ${wanted.length} fake release images in ${Date.now() - started} ms`);
  return stamp;
}

/** Fails unless every release image is a different image (a build cache once mixed them up). */
async function checkDistinct(
  podman: { argv: string[]; env: Record<string, string> },
  names: string[],
): Promise<void> {
  const r = await runChecked(run, [
    ...podman.argv,
    "image",
    "inspect",
    "--format",
    "{{.Id}}",
    ...names,
  ], {
    env: podman.env,
  });
  const ids = r.stdout.trim().split("\n");
  if (new Set(ids).size !== names.length) {
    throw new Error(
      `fake release images are not all distinct: ${names.length} names, ${
        new Set(ids).size
      } images`,
    );
  }
}

/** A hash of what the images are made of: the app sources, the release table, busybox. */
async function sourcesStamp(): Promise<string> {
  const parts: string[] = [JSON.stringify(RELEASES), SLOW_SECONDS + WRONG_REPORTED_VERSION];
  const names: string[] = [];
  for await (const e of Deno.readDir(APP_DIR)) names.push(e.name);
  for (const name of names.sort()) parts.push(name, await Deno.readTextFile(join(APP_DIR, name)));
  const busybox = await Deno.stat("/bin/busybox");
  parts.push(String(busybox.size), String(busybox.mtime?.getTime()));
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(parts.join("\0")));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Pushes every release to the registry at `registry` (`127.0.0.1:PORT`), with
 * `netns` the argv prefix that enters the lab host's network namespace (where
 * the registry listens).
 */
export async function pushReleases(
  options: { registry: string; netns: string[]; log: (line: string) => void },
): Promise<void> {
  const podman = await buildPodman();
  const started = Date.now();
  const jobs: string[][] = [];
  for (const release of RELEASES) {
    for (const kind of ["backend", "frontend"] as const) {
      const remote = `${options.registry}/grapheon-${kind}`;
      jobs.push([localImage(kind, release.version), `${remote}:v${release.version}`]);
      if (release.version === SEED_VERSION) {
        jobs.push([localImage(kind, release.version), `${remote}:latest`]);
      }
    }
  }
  const push = (job: string[]) =>
    runChecked(run, [
      ...options.netns,
      ...podman.argv,
      "push",
      "-q",
      "--tls-verify=false",
      job[0],
      `docker://${job[1]}`,
    ], { env: podman.env, timeoutMs: 60_000 });
  const worker = async () => {
    for (let job = jobs.shift(); job; job = jobs.shift()) await push(job);
  };
  const count = jobs.length;
  // The releases share their layers: one image of each kind first, alone, so that the
  // parallel pushes find those blobs there. Two pushes uploading the same blob at once
  // were seen to fail ("manifest blob unknown") with Debian's docker-registry.
  for (const kind of ["backend", "frontend"]) {
    const first = jobs.findIndex((j) => j[1].includes(`/grapheon-${kind}:`));
    await push(jobs.splice(first, 1)[0]);
  }
  await Promise.all([worker(), worker(), worker(), worker()]);
  options.log(`pushed ${count} tags to ${options.registry} in ${Date.now() - started} ms`);
}
