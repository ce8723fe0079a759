/**
 * The host: the config plus every effect adapter a command uses. Commands take a
 * Host; tests build one with doubles (or the real adapters against a test host).
 */
import type { CommandContext, Logger } from "../cli/mod.ts";
import { type Config, loadConfig } from "../config/mod.ts";
import { Bridge, type BridgeOps } from "./bridge.ts";
import { type Clock, systemClock } from "./clock.ts";
import { run, type Runner } from "./exec.ts";
import { type HttpGet, httpGet } from "./http.ts";
import { Podman } from "./podman.ts";
import { Systemd } from "./systemd.ts";
import type { Journal } from "../job/mod.ts";

/** The Podman operations, as an interface (lib/host/podman.ts implements it; tests fake it). */
export type PodmanOps = { [K in keyof Podman]: Podman[K] };

/** The systemd operations, as an interface (lib/host/systemd.ts implements it; tests fake it). */
export type SystemdOps = { [K in keyof Systemd]: Systemd[K] };

/** Everything a command may touch outside the process. */
export interface Host {
  /** Effective configuration. */
  config: Config;
  /** Logger. */
  log: Logger;
  /** Time. */
  clock: Clock;
  /** External commands. */
  run: Runner;
  /** HTTP GET. */
  http: HttpGet;
  /** Podman operations. */
  podman: PodmanOps;
  /** systemd operations. */
  systemd: SystemdOps;
  /** The container network's bridge. */
  bridge: BridgeOps;
  /**
   * Told of every journal write, after it is on disk. Nothing in the tool depends
   * on it: it is where a test stops the world as a SIGKILL would (tests/fake_host).
   */
  onJournal?: (journal: Journal) => void;
}

/** The real host for a config. */
export function realHost(config: Config, log: Logger): Host {
  return {
    config,
    log,
    clock: systemClock,
    run,
    http: httpGet,
    podman: new Podman(run, config.commands.podman),
    systemd: new Systemd(run, config.commands.systemctl),
    bridge: new Bridge(run, config.commands.ip),
  };
}

/** The real host for a command: its config file (or the defaults) and its logger. */
export async function hostFor(ctx: CommandContext): Promise<Host> {
  const { config } = await loadConfig(ctx.global.configPath);
  return realHost(config, ctx.log);
}
