/**
 * Making the units run a release, and proving it: point the run tag at the exact
 * image IDs, restart what changed (backend, then frontend), check each running
 * container's image ID, then poll health until the backend reports the expected
 * version and the frontend answers. Used by `upgrade` (forward and rollback) and
 * `rollback`.
 */
import { ms } from "../core/duration.ts";
import { errorMessage, ToolError } from "../core/errors.ts";
import { pollHealth, type PollResult } from "../health/poll.ts";
import type { Host } from "../host/host.ts";

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
   * What runs now: a component already on its target is not restarted, nor is
   * a frontend the backend's restart already brought up on its target. Null:
   * restart both.
   */
  current: { backend: string | null; frontend: string | null } | null;
}

/** The ref the units run for an image name. */
export function runRef(host: Host, which: "backend" | "frontend"): string {
  return `${host.config[which].image}:${host.config.runTag}`;
}

/** How long a container on the right image may stay stopped before it counts as crashed. */
const EXITED_GRACE_MS = 3000;

/**
 * Polls the container until it runs `imageId`, or throws: after the restart
 * timeout, or as soon as the right image has stayed stopped for the grace
 * period (a release that crashes at start should not hold the host for minutes).
 */
async function waitForContainer(
  host: Host,
  which: "backend" | "frontend",
  imageId: string,
): Promise<void> {
  const { container } = host.config[which];
  const deadline = host.clock.monotonic() + ms(host.config.timeouts.restart);
  let seen = "no container";
  let stoppedSince: number | null = null;
  let pause = 25;
  while (host.clock.monotonic() < deadline) {
    const c = await host.podman.inspectContainer(container).catch((e) => {
      seen = errorMessage(e);
      return null;
    });
    if (c) {
      if (c.Image === imageId && c.State.Running) return;
      if (c.Image === imageId) {
        stoppedSince ??= host.clock.monotonic();
        seen = `container ${container} is ${c.State.Status}`;
        if (host.clock.monotonic() - stoppedSince >= EXITED_GRACE_MS) break;
      } else {
        stoppedSince = null;
        seen = `container ${container} runs image ${c.Image.slice(0, 12)}, not ${
          imageId.slice(0, 12)
        }`;
      }
    }
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
  let restarted = false;
  for (const which of ["backend", "frontend"] as const) {
    // Unchanged, or (PartOf= in the units) restarted along with the backend already.
    const maybeThere = options.current?.[which] === options.target[which] ||
      (which === "frontend" && restarted && options.current !== null);
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
    restarted = true;
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

/** Polls backend health (accepted status + version) and the frontend page until both pass. */
export function verifyHealth(host: Host, options: VerifyOptions): Promise<PollResult> {
  const { config } = host;
  return pollHealth({
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
    startPeriodMs: 0,
    once: false,
    http: host.http,
    clock: host.clock,
    signal: options.signal,
  });
}
