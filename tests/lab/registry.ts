/**
 * The lab registry: Debian's `docker-registry` (distribution 2.8) run by the
 * build machine inside the lab host's network namespace, on 127.0.0.1 there,
 * plain HTTP, filesystem storage in the run dir; and the fake releases put in
 * it. The storage after the pushes is cached by the images' hash: pushing the
 * 44 tags takes 10–20 s, copying the result a fraction of a second.
 */
import { join } from "node:path";
import { run, type RunResult } from "../../lib/host/exec.ts";
import { buildReleases, pushReleases, RELEASES } from "./images.ts";
import type { BackgroundProcess } from "./procs.ts";
import { waitFor } from "./procs.ts";
import { labCacheDir } from "./rootfs.ts";

/** What the registry needs from the lab (the Lab class provides it). */
export interface RegistryHost {
  /** The run's scratch dir. */
  runDir: string;
  /** `127.0.0.1:PORT` inside the host's network. */
  registry: string;
  /** argv prefix entering the host's network namespace. */
  netnsArgv(): string[];
  /** Starts a build-machine process in the host's network namespace (stopped at teardown). */
  spawnInNetns(label: string, argv: readonly string[]): Promise<BackgroundProcess>;
  /** Runs a command on the host. */
  exec(argv: readonly string[], options?: { check?: boolean }): Promise<RunResult>;
  /** Logs a line. */
  log(line: string): void;
}

/** Starts the registry on `lab.registry` with its storage in the run dir; waits until it answers. */
export async function startRegistry(lab: RegistryHost): Promise<void> {
  const dir = join(lab.runDir, "registry");
  await Deno.mkdir(dir, { recursive: true });
  const config = join(lab.runDir, "files", "registry.yml");
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
      `  addr: ${lab.registry}`,
      "",
    ].join("\n"),
  );
  const registry = await lab.spawnInNetns("registry", ["docker-registry", "serve", config]);
  await waitFor("the registry to answer", async () => {
    if (registry.status) throw new Error(`docker-registry exited: ${await registry.logTail()}`);
    const r = await lab.exec(["curl", "-sf", `http://${lab.registry}/v2/`], { check: false });
    return r.code === 0 ? true : undefined;
  }, { timeoutMs: 15_000, intervalMs: 100 });
  lab.log(`registry on ${lab.registry} (pid ${registry.pid})`);
}

/**
 * Builds the fake releases (unless cached), starts the registry and fills it:
 * from the storage cache when the images are unchanged, else by pushing every
 * tag (then caches the storage).
 */
export async function publishReleases(lab: RegistryHost): Promise<void> {
  const stamp = await buildReleases((line) => lab.log(line));
  const root = join(labCacheDir(), "registry");
  const cached = join(root, stamp.slice(0, 16));
  const hit = await Deno.stat(`${cached}.ok`).then(() => true, () => false);
  if (hit) await run(["cp", "-a", cached, join(lab.runDir, "registry")]);
  await startRegistry(lab);
  if (hit) {
    lab.log(`registry storage with the ${RELEASES.length} releases copied from the cache`);
    return;
  }
  await pushReleases({ registry: lab.registry, netns: lab.netnsArgv(), log: (l) => lab.log(l) });
  await Deno.remove(root, { recursive: true }).catch(() => {});
  await Deno.mkdir(root, { recursive: true });
  await run(["cp", "-a", join(lab.runDir, "registry"), cached]);
  await Deno.writeTextFile(`${cached}.ok`, "");
}
