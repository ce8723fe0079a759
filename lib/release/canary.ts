/**
 * The pre-flight canary: before anything live is touched, the new backend image
 * runs as a throwaway container with the live container's environment, a
 * private copy of the step-1 snapshot as its database, on a free loopback port.
 * It must answer health with the new version before its deadline. It is always
 * removed, and a leftover from a killed run is removed before the next one.
 */
import { join } from "node:path";
import { errorMessage, ms } from "../core/mod.ts";
import { judgeDetached } from "./crash_watch.ts";
import { exists, type Host, tail } from "../host/mod.ts";
import { pollHealth } from "../health/mod.ts";

/** Options for `runCanary`. */
export interface CanaryOptions {
  /** The new backend image ID. */
  imageId: string;
  /** The version it must report. */
  version: string;
  /** The step-1 snapshot to copy as its database, if any. */
  backupPath: string | null;
  /** Stops early. */
  signal?: AbortSignal;
}

/** The canary's verdict. */
export interface CanaryVerdict {
  /** Healthy with the right version before the deadline. */
  passed: boolean;
  /** Why not, with the last log lines. */
  reason?: string;
  /** The canary could not judge the release (the host failed: disk, podman, a timeout). */
  notStarted?: boolean;
  /** Milliseconds it took. */
  elapsedMs: number;
}

/** Longest excerpt of the canary's own log put into the verdict (container-written text). */
const MAX_LOG_CHARS = 600;

/** Name of the throwaway container. */
export function canaryName(host: Host): string {
  return `${host.config.backend.container}-canary`;
}

/** Environment the live container got from its unit (container env minus the image's own ENV). */
async function liveEnvironment(host: Host): Promise<string[]> {
  const live = await host.podman.inspectContainer(host.config.backend.container);
  if (!live) return [`DATA_DIR=${host.config.backend.containerDataDir}`];
  const image = await host.podman.inspectImage(live.Image).catch(() => null);
  const fromImage = new Set(image?.Config?.Env ?? []);
  // Socket activation is the unit's, not the release's: the canary binds a port of its own,
  // so it must not look for an inherited socket (UVICORN_FD from the unit; LISTEN_* that
  // Podman sets for a socket-activated container, sd_listen_fds(3)).
  const skip =
    /^(PATH|HOSTNAME|HOME|TERM|container|UVICORN_FD|LISTEN_FDS|LISTEN_PID|LISTEN_FDNAMES)=/;
  return (live.Config?.Env ?? []).filter((e) => !fromImage.has(e) && !skip.test(e));
}

function freeLoopbackPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/**
 * Why the canary cannot run on this host, or null. With `network: "host"` the
 * new backend would have to listen on the live backend's own port.
 */
export function canaryUnavailable(host: Host): string | null {
  if (host.config.network === "host") {
    return 'the containers use the host network (config network: "host"), so a second backend cannot listen beside the live one';
  }
  return null;
}

/** Removes a canary container and scratch dir left by an earlier run. */
export async function cleanupCanary(host: Host): Promise<void> {
  await host.podman.removeContainer(canaryName(host)).catch(() => {});
  await Deno.remove(join(host.config.stateDir, "canary"), { recursive: true }).catch(() => {});
}

/** Runs the canary and always cleans up after it. */
export async function runCanary(host: Host, options: CanaryOptions): Promise<CanaryVerdict> {
  const start = host.clock.monotonic();
  const name = canaryName(host);
  const scratch = join(host.config.stateDir, "canary");
  await cleanupCanary(host);
  try {
    const dataDir = join(scratch, "data");
    await Deno.mkdir(dataDir, { recursive: true, mode: 0o755 });
    if (options.backupPath) await Deno.copyFile(options.backupPath, join(dataDir, "network.db"));
    const port = freeLoopbackPort();
    const env = (await liveEnvironment(host)).filter((e) => !e.startsWith("DATA_DIR="));
    env.push(`DATA_DIR=${host.config.backend.containerDataDir}`);
    const envFiles = (await exists(host.config.envFile)) ? [host.config.envFile] : [];
    host.log.info(
      `canary: starting ${options.imageId.slice(0, 12)} as ${name} on 127.0.0.1:${port}`,
    );
    await host.podman.runDetached({
      name,
      image: options.imageId,
      env,
      envFiles,
      volumes: [`${dataDir}:${host.config.backend.containerDataDir}`],
      extraArgs: [
        "--label",
        "grapheon-tool=canary",
        "-p",
        `127.0.0.1:${port}:${host.config.backend.containerPort}`,
      ],
    });
    const exited = new AbortController();
    const watcher = watchForExit(host, name, exited);
    // A release answering 503 fails after the start period and a run of such answers;
    // one that exits fails at once (watchForExit); one still silent keeps the deadline.
    const signal = options.signal
      ? AbortSignal.any([exited.signal, options.signal])
      : exited.signal;
    const result = await pollHealth({
      urls: [`http://127.0.0.1:${port}/health`],
      expect: {
        httpStatuses: [200],
        json: { status: host.config.health.acceptStatus },
        version: options.version,
      },
      timeoutMs: ms(host.config.timeouts.canary),
      intervalMs: 250,
      requestTimeoutMs: ms(host.config.timeouts.healthRequest),
      consecutive: 2,
      startPeriodMs: ms(host.config.health.startPeriod),
      unhealthyThreshold: host.config.health.unhealthyThreshold,
      once: false,
      http: host.http,
      clock: host.clock,
      signal,
    });
    const death = exited.signal.aborted ? String(exited.signal.reason) : null;
    exited.abort("done");
    await watcher;
    const elapsedMs = Math.round(host.clock.monotonic() - start);
    if (result.healthy) {
      host.log.info(`canary: healthy with version ${options.version} after ${elapsedMs} ms`);
      return { passed: true, elapsedMs };
    }
    const logs = tail(await host.podman.logs(name, 10).catch(() => ""), 3).slice(-MAX_LOG_CHARS);
    const why = death ?? result.lastReason ?? "not healthy";
    return { passed: false, reason: `${why}${logs ? `; last log lines: ${logs}` : ""}`, elapsedMs };
  } catch (err) {
    const elapsedMs = Math.round(host.clock.monotonic() - start);
    // Whatever throws here stopped the canary before it could judge the release: the host's
    // failure (a full disk for the scratch copy, podman's own errors 125–127, a `podman run`
    // that timed out), never a refusal. Only the health poll and the exit watch judge.
    return { passed: false, notStarted: true, reason: errorMessage(err), elapsedMs };
  } finally {
    await cleanupCanary(host);
  }
}

/**
 * Aborts `controller`, with the reason in words (`the container exited with code 1`),
 * when the container stops running, so a crash fails fast. A failed inspect is no
 * evidence (podman busy): the next look decides.
 */
async function watchForExit(host: Host, name: string, controller: AbortController): Promise<void> {
  while (!controller.signal.aborted) {
    await host.clock.sleep(300, controller.signal).catch(() => {});
    if (controller.signal.aborted) return;
    const c = await host.podman.inspectContainer(name).catch(() => undefined);
    if (c === undefined) continue;
    const liveness = judgeDetached(
      c && {
        status: c.State.Status,
        running: c.State.Running,
        exitCode: c.State.ExitCode ?? null,
        rightImage: true,
      },
    );
    if (liveness.verdict === "dead") {
      controller.abort(liveness.reason);
      return;
    }
  }
}
