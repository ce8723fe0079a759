/**
 * Making the units run a release, and proving it: point the run tag at the exact
 * image IDs, restart what changed (backend, then frontend), check each running
 * container's image ID, then poll health until the backend reports the expected
 * version and the frontend answers. Used by `upgrade` (forward and rollback) and
 * `rollback`.
 */
import { errorMessage, ms, ToolError } from "../core/mod.ts";
import { pollHealth, type PollResult } from "../health/mod.ts";
import type { Host } from "../host/mod.ts";
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

/** Tags, restarts and verifies image IDs. Throws ToolError on the first failure. */
export async function switchImages(host: Host, options: SwitchOptions): Promise<void> {
  const { config, log } = host;
  for (const which of ["backend", "frontend"] as const) {
    await host.podman.tag(options.target[which], runRef(host, which));
  }
  for (const which of ["backend", "frontend"] as const) {
    // Each unit restarts only for its own image: the frontend reaches the backend through
    // the backend's socket, so a backend swap leaves nginx alone (units/, no PartOf=).
    const maybeThere = options.current?.[which] === options.target[which];
    const c = maybeThere ? await host.podman.inspectContainer(config[which].container) : null;
    if (c?.Image === options.target[which] && c.State.Running) {
      log.info(`${which} already runs image ${options.target[which].slice(0, 12)}; not restarted`);
      continue;
    }
    log.info(`restarting ${config[which].service} on image ${options.target[which].slice(0, 12)}`);
    try {
      await host.systemd.restart([config[which].service], ms(config.timeouts.restart));
    } catch (err) {
      throw new ToolError(`restart of ${config[which].service} failed: ${errorMessage(err)}`);
    }
    await waitForContainer(host, which, options.target[which]);
  }
}

/** Options for `verifyHealth`. */
export interface VerifyOptions {
  /** The version the backend must report. */
  backendVersion: string | null;
  /** Deadline (default: config timeouts.health). */
  timeoutMs?: number;
  /** Stops early. */
  signal?: AbortSignal;
}

/**
 * Polls backend health (accepted status + version) and the frontend page until
 * both pass. Fails early, with the reason in `lastReason`: when a container dies
 * (the backend, see lib/liveness.ts), or after `health.unhealthyThreshold` unhealthy answers in
 * a row past `health.startPeriod`. A silent backend (booting, migrating) keeps the
 * whole deadline.
 */
export async function verifyHealth(host: Host, options: VerifyOptions): Promise<PollResult> {
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
  const result = await pollHealth({
    urls: [config.backend.healthUrl, config.frontend.url],
    expect: [
      {
        httpStatuses: [200],
        json: { status: config.health.acceptStatus },
        version: options.backendVersion ?? undefined,
      },
      { httpStatuses: [200], json: {} },
    ],
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
  const death = await watch;
  if (!result.healthy && death) return { ...result, lastReason: death };
  return result;
}
