/**
 * Making the units run a release, and proving it: point the run tag at the exact
 * image IDs, restart what changed (the backend, then the frontend), check each running
 * container's image ID, then poll health until the backend reports the expected
 * version and the frontend answers. Used by `upgrade` (forward and rollback) and
 * `rollback`.
 */
import {
  type Component,
  COMPONENTS,
  errorMessage,
  formatDuration,
  ms,
  ToolError,
} from "../core/mod.ts";
import { networkGateway } from "../config/mod.ts";
import { pollHealth, type PollResult } from "../health/mod.ts";
import type { Host } from "../host/mod.ts";
import type { ReleasePair } from "../job/mod.ts";
import { keepVersionTag } from "./image_retention.ts";
import { describeDeath, LivenessBaseline, observeComponent, watchComponents } from "./liveness.ts";

/**
 * Pause between looks at the backend's unit and container while health is polled: each
 * look is a `systemctl show` and a `podman container inspect`, so not more often.
 */
const LIVENESS_INTERVAL_MS = 1000;

/** The image IDs to run. */
export interface ImagePair {
  /** Backend image ID. */
  backend: string;
  /** Frontend image ID. */
  frontend: string;
}

/** Options for `switchImages`. */
export interface SwitchOptions {
  /** What to run. */
  target: ImagePair;
  /**
   * What runs now: a component already on its target is not restarted. Null:
   * restart both.
   */
  current: { backend: string | null; frontend: string | null } | null;
  /** The version the backend must report before the frontend is touched. */
  backendVersion: string | null;
  /** Stops the wait for the backend early. */
  signal?: AbortSignal;
  /**
   * The releases being replaced, whose images keep a version tag (`keepVersionTag`) before the
   * run tags move.
   */
  keep?: ReleasePair;
}

/** The ref the units run for an image name. */
export function runRef(host: Host, which: "backend" | "frontend"): string {
  return `${host.config[which].image}:${host.config.runTag}`;
}

/**
 * Polls the container until it runs `imageId`, or throws: after the restart
 * timeout, or as soon as systemd or Podman shows it dead (exited, the unit
 * failed or in auto-restart, NRestarts rising): a release that crashes at start
 * must not hold the host for minutes.
 */
async function waitForContainer(
  host: Host,
  which: "backend" | "frontend",
  imageId: string,
): Promise<void> {
  const deadline = host.clock.monotonic() + ms(host.config.timeouts.restart);
  let seen = "no container";
  const baseline = new LivenessBaseline();
  let pause = 25;
  while (host.clock.monotonic() < deadline) {
    const observed = await observeComponent(host, which, imageId);
    const c = observed.container;
    if (c?.rightImage && c.running) return;
    const liveness = baseline.judge(observed);
    if (liveness.verdict === "dead") {
      throw new ToolError(
        `${which} did not come up on image ${imageId.slice(0, 12)}: ${await describeDeath(
          host,
          which,
          liveness,
        )}`,
      );
    }
    const { container } = host.config[which];
    if (c) {
      seen = c.rightImage
        ? `container ${container} is ${c.status}`
        : `container ${container} runs another image, not ${imageId.slice(0, 12)}`;
    } else seen = `no container ${container}`;
    await host.clock.sleep(pause);
    pause = Math.min(pause * 2, 250);
  }
  throw new ToolError(`${which} did not come up on image ${imageId.slice(0, 12)}: ${seen}`);
}

/**
 * Tags, restarts and verifies image IDs: the backend first, then, once the backend answers
 * healthy, the frontend. nginx stops gracefully, finishing the requests it relays (the
 * frontend image is FROM nginx:alpine, whose Dockerfile sets STOPSIGNAL SIGQUIT, nginx's
 * graceful shutdown): stopped while the backend does not answer, it waits on them until Podman
 * kills it (seen in the lab: 15 s). So a backend that never answers fails here with the
 * frontend untouched, and its rollback is one restart. Throws ToolError on the first failure.
 */
export async function switchImages(host: Host, options: SwitchOptions): Promise<void> {
  // One `podman tag` at a time: podman 4.3's tag (Debian 12) reads an image's names and
  // writes the whole list back, so two at once can lose one (containers/podman#17515, fixed by
  // containers/common#1700). Seen in the lab: the old image's version tag, written beside the
  // run tag's move, put the run tag back on the old image in 5 of 30 tries.
  const { keep } = options;
  if (keep) { for (const which of COMPONENTS) await keepVersionTag(host, which, keep[which]); }
  for (const which of COMPONENTS) await host.podman.tag(options.target[which], runRef(host, which));
  if (!(await leftAlone(host, "backend", options))) {
    await pinBridge(host);
    await restartOnto(host, "backend", options.target.backend);
  }
  if (await leftAlone(host, "frontend", options)) return;
  const ready = await verifyHealth(host, {
    backendVersion: options.backendVersion,
    signal: options.signal,
    backendOnly: true,
  });
  if (!ready.healthy) {
    throw new ToolError(
      `${unhealthyText("the backend", ready)}, so the frontend was left as it was: ` +
        `${ready.lastReason}`,
    );
  }
  await restartOnto(host, "frontend", options.target.frontend);
}

/**
 * Pins the container network bridge's address before the backend's veth leaves it, so that
 * the frontend's next connection to the gateway is not sent to an address the bridge dropped
 * (lib/host/bridge.ts). Not pinned, the swap still works: a warning.
 */
async function pinBridge(host: Host): Promise<void> {
  const { config } = host;
  if (config.network === "host") return;
  try {
    const pinned = await host.bridge.pinAddress(networkGateway(config.networkSubnet));
    if (pinned) host.log.debug(`bridge ${pinned.ifname} keeps its address ${pinned.address}`);
  } catch (err) {
    host.log.warn(
      `cannot pin the address of the container network's bridge (${errorMessage(err)}): ` +
        "the frontend may wait seconds for the backend after this swap",
    );
  }
}

/** True (and logged) when `current` says the component ran its target, and it still runs it. */
async function leftAlone(host: Host, which: Component, options: SwitchOptions): Promise<boolean> {
  const imageId = options.target[which];
  if (options.current?.[which] !== imageId) return false;
  const c = await host.podman.inspectContainer(host.config[which].container);
  if (c?.Image !== imageId || !c.State.Running) return false;
  host.log.info(`${which} already runs image ${imageId.slice(0, 12)}; not restarted`);
  return true;
}

/** Restarts a component's unit and waits until its container runs `imageId`. */
async function restartOnto(host: Host, which: Component, imageId: string): Promise<void> {
  const { service } = host.config[which];
  host.log.info(`restarting ${service} on image ${imageId.slice(0, 12)}`);
  try {
    await host.systemd.restart([service], ms(host.config.timeouts.restart));
  } catch (err) {
    throw new ToolError(`restart of ${service} failed: ${errorMessage(err)}`);
  }
  await waitForContainer(host, which, imageId);
}

/** Options for `verifyHealth`. */
export interface VerifyOptions {
  /** The version the backend must report. */
  backendVersion: string | null;
  /** Deadline (default: config timeouts.health). */
  timeoutMs?: number;
  /** Stops early. */
  signal?: AbortSignal;
  /** Only the backend's health (the frontend is about to be restarted). */
  backendOnly?: boolean;
}

/**
 * Polls backend health (accepted status + version) and the frontend page until
 * both pass. Fails early, with the reason in `lastReason`: when a container dies
 * (the backend, see lib/liveness.ts), or after `health.unhealthyThreshold` unhealthy answers in
 * a row past `health.startPeriod`. A silent backend (booting, migrating) keeps the
 * whole deadline.
 */
export async function verifyHealth(host: Host, options: VerifyOptions): Promise<HealthCheck> {
  const { config } = host;
  const stop = new AbortController();
  const signal = options.signal ? AbortSignal.any([stop.signal, options.signal]) : stop.signal;
  const watch = watchComponents(host, {
    // The backend is what releases break; a frontend that dies still fails at the deadline.
    components: [{ which: "backend", imageId: null }],
    intervalMs: LIVENESS_INTERVAL_MS,
    signal,
  }).then((death) => {
    if (death) stop.abort("dead");
    return death;
  });
  const backend = {
    httpStatuses: [200],
    json: { status: config.health.acceptStatus },
    version: options.backendVersion ?? undefined,
  };
  const result = await pollHealth({
    urls: options.backendOnly
      ? [config.backend.healthUrl]
      : [config.backend.healthUrl, config.frontend.url],
    expect: options.backendOnly ? [backend] : [backend, { httpStatuses: [200], json: {} }],
    timeoutMs: options.timeoutMs ?? ms(config.timeouts.health),
    intervalMs: 250,
    requestTimeoutMs: ms(config.timeouts.healthRequest),
    consecutive: 2,
    startPeriodMs: ms(config.health.startPeriod),
    unhealthyThreshold: config.health.unhealthyThreshold,
    once: false,
    http: host.http,
    clock: host.clock,
    signal,
  });
  stop.abort("done");
  if (result.healthy) {
    // Healthy answers outrank the watch: its look in flight (two processes) is not waited for.
    watch.catch(() => {});
    return { ...result, endedEarly: false };
  }
  const death = await watch;
  if (death) return { ...result, lastReason: death, endedEarly: true };
  return { ...result, endedEarly: result.unhealthyRun !== undefined };
}

/** What `verifyHealth` found. */
export interface HealthCheck extends PollResult {
  /** Failed before the deadline: the backend died, or answered unhealthily too often. */
  endedEarly: boolean;
}

/**
 * How a failed check reads, without its reason: a deadline only when one was reached, so a
 * release that crashed after 0.4 s does not read as "not healthy within 434ms" (pure).
 */
export function unhealthyText(subject: string, check: HealthCheck): string {
  const took = formatDuration(check.elapsedMs);
  return check.endedEarly
    ? `${subject} failed its health check after ${took}`
    : `${subject} was not healthy within ${took}`;
}
