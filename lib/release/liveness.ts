/**
 * Watching unit-run containers for death while the tool waits for them (the
 * effects around lib/crash_watch.ts): observe the unit (`systemctl show`) and the
 * container (`podman container inspect`), judge, and on death say why with the
 * exit code and the container's last log lines. An observation that fails (podman
 * busy, systemctl slow) is no evidence: the watcher keeps waiting.
 */
import {
  type ContainerObservation,
  judgeLiveness,
  type Liveness,
  type LivenessObservation,
} from "./crash_watch.ts";
import type { Component } from "../core/mod.ts";
import { type Host, journalTail, tail } from "../host/mod.ts";

/**
 * The first look after the tool's own restart, which later looks are judged against: NRestarts
 * and MainPID as first reported (see lib/release/crash_watch.ts for why each).
 */
export class LivenessBaseline {
  #restarts: number | null | undefined;
  #pid: number | null = null;

  /** Judges `observed`, keeping the baseline from the first look that reports each value. */
  judge(observed: LivenessObservation): Liveness {
    if (this.#restarts === undefined && observed.unit) this.#restarts = observed.unit.nRestarts;
    if (this.#pid === null && observed.unit?.mainPid) this.#pid = observed.unit.mainPid;
    return judgeLiveness(observed, this.#restarts ?? null, this.#pid);
  }
}

/** Longest excerpt of container logs put into a message (the logs are the container's text). */
const MAX_LOG_CHARS = 600;

/** One look at a component's unit and container; `imageId`: the image it should run. */
export async function observeComponent(
  host: Host,
  which: Component,
  imageId: string | null,
): Promise<LivenessObservation> {
  const { container, service } = host.config[which];
  const [unit, c] = await Promise.all([
    host.systemd.serviceState(service),
    host.podman.inspectContainer(container).catch(() => undefined),
  ]);
  let observed: ContainerObservation | null = null;
  if (c) {
    observed = {
      status: c.State.Status,
      running: c.State.Running,
      exitCode: c.State.ExitCode ?? null,
      rightImage: imageId === null || c.Image === imageId,
    };
  }
  return { unit, container: observed };
}

/** The last log lines of a component's container: podman's log, else the unit's journal. */
export async function lastLogLines(host: Host, which: Component, lines = 3): Promise<string> {
  const { container, service } = host.config[which];
  let text = tail(await host.podman.logs(container, 10).catch(() => ""), lines);
  if (!text || /no such container|no container with name/i.test(text)) {
    text = tail(
      await journalTail(host.run, {
        journalctl: host.config.commands.journalctl,
        unit: service,
        lines: 10,
      }),
      lines,
    );
  }
  return text.length > MAX_LOG_CHARS ? `…${text.slice(-MAX_LOG_CHARS)}` : text;
}

/** The death, in words: what died, how, its exit code, its last log lines. */
export async function describeDeath(
  host: Host,
  which: Component,
  death: Extract<Liveness, { verdict: "dead" }>,
): Promise<string> {
  const logs = await lastLogLines(host, which);
  return `${which}: ${death.reason}${logs ? `; last log lines: ${logs}` : ""}`;
}

/** Options for `watchComponents`. */
export interface WatchOptions {
  /** The components and the image each should run (null: any). */
  components: { which: Component; imageId: string | null }[];
  /** Pause between looks. */
  intervalMs: number;
  /** Ends the watch (the caller's verdict came first). */
  signal: AbortSignal;
}

/**
 * Looks at the components until one is dead (resolves with the description) or
 * `signal` aborts (resolves null). NRestarts and the main PID are compared with the first look's.
 */
export async function watchComponents(host: Host, options: WatchOptions): Promise<string | null> {
  const baselines = new Map<Component, LivenessBaseline>();
  while (!options.signal.aborted) {
    for (const { which, imageId } of options.components) {
      const observed = await observeComponent(host, which, imageId);
      if (!baselines.has(which)) baselines.set(which, new LivenessBaseline());
      const liveness = baselines.get(which)!.judge(observed);
      if (liveness.verdict === "dead" && !options.signal.aborted) {
        return await describeDeath(host, which, liveness);
      }
    }
    await host.clock.sleep(options.intervalMs, options.signal).catch(() => {});
  }
  return null;
}
