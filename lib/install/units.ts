/**
 * The systemd units grapheon-tool installs, rendered from the templates in
 * `units/` (embedded in the compiled binary with `deno compile --include units/`
 * and read relative to this file, which also works under `deno run`). The NixOS
 * module renders the same templates (nix/render.nix); tests hold both to the
 * same bytes. Pure: the caller supplies the templates and resolved programs.
 */
import { join } from "node:path";
import { type Config, networkGateway, socketUnit } from "../config/mod.ts";
import { ms } from "../core/mod.ts";
import { execArg, renderTemplate, seconds, unitWord } from "./unit_template.ts";

/** Directory of the unit templates (inside the binary when compiled). */
export const TEMPLATE_DIR = join(import.meta.dirname ?? ".", "..", "..", "units");

/** Fixed unit names (the container services are named by the config). */
export const UNIT = {
  images: "grapheon-images.service",
  path: "grapheon-upgrade.path",
  upgrade: "grapheon-upgrade.service",
  recover: "grapheon-upgrade-recover.service",
} as const;

/** The file name of the upgrade request in the data dir (written by the app). */
export const REQUEST_FILE = "upgrade-requested";

/** Slack in the upgrade's TimeoutStartSec for the backup, the lock, status writes and pruning. */
export const UPGRADE_MARGIN_SECONDS = 300;

/** Extra TimeoutStopSec beyond `podman stop -t` (SIGKILL, conmon cleanup). */
export const STOP_MARGIN_SECONDS = 15;

/** Which group a unit belongs to: the upgrade machinery, or the containers (`--with-containers`). */
export type UnitGroup = "upgrade" | "containers";

/** One rendered unit. */
export interface RenderedUnit {
  /** Unit file name, e.g. `grapheon-upgrade.path`. */
  name: string;
  /** Template file in `units/` it came from. */
  template: string;
  /** Which install group it belongs to. */
  group: UnitGroup;
  /** On install: enable and start it (`now`), only enable it (`boot`), or neither (`no`: started by another unit). */
  enable: "now" | "boot" | "no";
  /** Rendered text. */
  text: string;
}

/** What rendering needs besides the config: resolved absolute program paths and the config path. */
export interface RenderInputs {
  /** The effective config. */
  config: Config;
  /** Where the tool's config lives (GRAPHEON_TOOL_CONFIG of the upgrade units). */
  configPath: string;
  /** Absolute path of podman. */
  podmanPath: string;
  /** Absolute path of a POSIX shell (the image seed unit). */
  shPath: string;
  /** ProtectHome= of the upgrade units: "read-only" when the binary is a launcher for a source checkout. */
  protectHome?: "yes" | "read-only";
}

/**
 * TimeoutStartSec of the upgrade units, in seconds: both pulls with every retry,
 * the canary, the swap (two restarts and the health wait), a rollback of the
 * same size, and a fixed margin:
 * `2·(pullRetries+1)·pull + canary + 2·(2·restart + health) + 300`.
 */
export function upgradeTimeoutSeconds(config: Config): number {
  const t = config.timeouts;
  const pulls = 2 * (t.pullRetries + 1) * seconds(ms(t.pull));
  const canary = config.canary.enabled ? seconds(ms(t.canary)) : 0;
  const swap = 2 * seconds(ms(t.restart)) + seconds(ms(t.health));
  return pulls + canary + 2 * swap + UPGRADE_MARGIN_SECONDS;
}

/** TimeoutStartSec of the image seed unit: one pull of each image and a minute. */
export function seedTimeoutSeconds(config: Config): number {
  return 2 * seconds(ms(config.timeouts.pull)) + 60;
}

type Side = "backend" | "frontend";

/** Renders one template with its values. */
type Render = (template: string, values: Record<string, string>) => string;

/** The relay from the network's gateway to the backend's socket (a socket and its service). */
export const BRIDGE = {
  socket: "grapheon-backend-bridge.socket",
  service: "grapheon-backend-bridge.service",
} as const;

/**
 * The frontend's nginx asks for the backend's container port (`proxy_pass
 * http://grapheon-backend:8000`) at the gateway: a relay listens there unless the backend's
 * socket already does (all addresses, on that port), or both run on the host network.
 */
export function needsBridge(c: Config): boolean {
  const b = c.backend;
  const everywhere = ["", "0.0.0.0", "[::]"].includes(b.bindAddress) && b.port === b.containerPort;
  return c.network !== "host" && !everywhere;
}

/**
 * The frontend is socket-activated when nginx can adopt the socket: nginx keeps an
 * inherited socket only if its address is the one its `listen <port>` names, all IPv4
 * addresses on the container port (nginx src/core/ngx_cycle.c, ngx_cmp_sockaddr). Else
 * the port is published by Podman, and a frontend swap refuses connections for a moment.
 */
export function frontendSocketActivated(c: Config): boolean {
  return c.frontend.bindAddress === "" && c.frontend.port === c.frontend.containerPort;
}

/** ListenStream= of the backend's socket: its bind address ("" = all) and port. */
function backendListen(c: Config): string {
  const b = c.backend;
  return b.bindAddress ? `${b.bindAddress}:${b.port}` : String(b.port);
}

/** Tells nginx to adopt the socket Podman passes in as fd 3 (its inherited-sockets variable). */
const NGINX_SOCKET_ARG = `-e ${execArg("NGINX=3;")}`;

function networkArgs(c: Config, side: Side): string {
  if (c.network === "host") {
    return side === "frontend" && frontendSocketActivated(c)
      ? `--network=host ${NGINX_SOCKET_ARG}`
      : "--network=host";
  }
  if (side === "backend") return `--network=${c.network}`;
  const f = c.frontend;
  const reach = `--network=${c.network} --add-host=${c.backend.container}:${
    networkGateway(c.networkSubnet)
  }`;
  if (frontendSocketActivated(c)) return `${reach} ${NGINX_SOCKET_ARG}`;
  const publish = f.bindAddress
    ? `${f.bindAddress}:${f.port}:${f.containerPort}`
    : `${f.port}:${f.containerPort}`;
  return `${reach} -p ${publish}`;
}

function envArgs(c: Config, side: Side): string {
  const files = [c.envFile, ...c[side].envFiles].map((f, i) =>
    `--env-file=${unitWord(i === 0 ? "envFile" : `${side}.envFiles`, f)}`
  );
  const env = Object.keys(c[side].environment).sort().map((k) =>
    `-e ${execArg(`${k}=${c[side].environment[k]}`)}`
  );
  return [...files, ...env].join(" ");
}

function containerValues(inputs: RenderInputs, side: Side): Record<string, string> {
  const c = inputs.config;
  const podman = unitWord("commands.podman (resolved)", inputs.podmanPath);
  const values: Record<string, string> = {
    CONTAINER: c[side].container,
    IMAGE: c[side].image,
    RUN_TAG: c.runTag,
    START_TIMEOUT: `${seconds(ms(c.timeouts.restart))}s`,
    STOP_SECONDS: String(seconds(ms(c.timeouts.stop))),
    STOP_TIMEOUT: `${seconds(ms(c.timeouts.stop)) + STOP_MARGIN_SECONDS}s`,
    PODMAN: podman,
    ENV_ARGS: envArgs(c, side),
    NETWORK_ARGS: networkArgs(c, side),
  };
  if (side === "backend") {
    values.DATA_DIR = unitWord("dataDir", c.dataDir);
    values.CONTAINER_DATA_DIR = unitWord("backend.containerDataDir", c.backend.containerDataDir);
    values.SOCKET = socketUnit(c.backend.service);
  } else {
    const bridge = needsBridge(c) ? [BRIDGE.socket] : [];
    const socket = frontendSocketActivated(c) ? [socketUnit(c.frontend.service)] : [];
    values.WANTS = [c.backend.service, ...bridge].join(" ");
    // After the backend's sockets, not its service: when both have jobs (a boot, an operator's
    // restart of both), an ordering between the two services makes systemd hold the backend's
    // start until nginx has stopped, while nginx waits (gracefully) on a request relayed to it.
    values.AFTER = [socketUnit(c.backend.service), ...bridge, ...socket].join(" ");
    values.REQUIRES = socket.length ? `Requires=${socket[0]}` : "";
  }
  return values;
}

function upgradeValues(inputs: RenderInputs): Record<string, string> {
  const c = inputs.config;
  return {
    BACKEND_SERVICE: c.backend.service,
    FRONTEND_SERVICE: c.frontend.service,
    DATA_DIR: unitWord("dataDir", c.dataDir),
    STATE_DIR: unitWord("stateDir", c.stateDir),
    CONFIG_PATH: unitWord("config path", inputs.configPath),
    BIN_PATH: unitWord("binPath", c.binPath),
    UPGRADE_TIMEOUT: `${upgradeTimeoutSeconds(c)}s`,
    PROTECT_HOME: inputs.protectHome ?? "yes",
  };
}

/**
 * Renders every unit from `templates` (file name → text, as read by
 * `loadTemplates`). Throws ConfigError when a config value cannot go into a unit.
 */
export function renderUnits(
  templates: Readonly<Record<string, string>>,
  inputs: RenderInputs,
): RenderedUnit[] {
  const c = inputs.config;
  const podman = unitWord("commands.podman (resolved)", inputs.podmanPath);
  const render: Render = (template, values) => {
    const text = templates[template];
    if (text === undefined) throw new Error(`unit template units/${template} is missing`);
    return renderTemplate(text, values, `units/${template}`);
  };
  const upgrade = upgradeValues(inputs);
  return [
    {
      name: UNIT.images,
      template: "grapheon-images.service",
      group: "containers",
      enable: "now",
      text: render("grapheon-images.service", {
        SH: unitWord("shell path", inputs.shPath),
        PODMAN: podman,
        RUN_TAG: c.runTag,
        BACKEND_SERVICE: c.backend.service,
        FRONTEND_SERVICE: c.frontend.service,
        BACKEND_IMAGE: c.backend.image,
        FRONTEND_IMAGE: c.frontend.image,
        BACKEND_SEED_TAG: c.backend.seedTag,
        FRONTEND_SEED_TAG: c.frontend.seedTag,
        SEED_TIMEOUT: `${seedTimeoutSeconds(c)}s`,
        NETWORK_PRE: c.network === "host"
          ? ""
          : `ExecStartPre=-${podman} network create --subnet=${c.networkSubnet} ${c.network}`,
      }),
    },
    {
      name: socketUnit(c.backend.service),
      template: "grapheon-backend.socket",
      group: "containers",
      enable: "now",
      text: render("grapheon-backend.socket", { LISTEN: backendListen(c) }),
    },
    {
      name: c.backend.service,
      template: "grapheon-backend.service",
      group: "containers",
      enable: "now",
      text: render("grapheon-backend.service", containerValues(inputs, "backend")),
    },
    ...(needsBridge(c) ? bridgeUnits(c, render) : []),
    ...(frontendSocketActivated(c)
      ? [{
        name: socketUnit(c.frontend.service),
        template: "grapheon-frontend.socket",
        group: "containers" as const,
        enable: "now" as const,
        text: render("grapheon-frontend.socket", { LISTEN: `0.0.0.0:${c.frontend.port}` }),
      }]
      : []),
    {
      name: c.frontend.service,
      template: "grapheon-frontend.service",
      group: "containers",
      enable: "now",
      text: render("grapheon-frontend.service", containerValues(inputs, "frontend")),
    },
    {
      name: UNIT.path,
      template: "grapheon-upgrade.path",
      group: "upgrade",
      enable: "now",
      text: render("grapheon-upgrade.path", { REQUEST_PATH: requestPath(c) }),
    },
    {
      name: UNIT.upgrade,
      template: "grapheon-upgrade.service",
      group: "upgrade",
      enable: "no",
      text: render("grapheon-upgrade.service", upgrade),
    },
    {
      name: UNIT.recover,
      template: "grapheon-upgrade-recover.service",
      group: "upgrade",
      enable: "boot",
      text: render("grapheon-upgrade-recover.service", upgrade),
    },
  ];
}

/** The relay's socket on the gateway and its service (systemd-socket-proxyd). */
function bridgeUnits(c: Config, render: Render): RenderedUnit[] {
  return [
    {
      name: BRIDGE.socket,
      template: BRIDGE.socket,
      group: "containers",
      enable: "now",
      text: render(BRIDGE.socket, {
        LISTEN: `${networkGateway(c.networkSubnet)}:${c.backend.containerPort}`,
      }),
    },
    {
      name: BRIDGE.service,
      template: BRIDGE.service,
      group: "containers",
      enable: "no",
      text: render(BRIDGE.service, {
        PROXYD: unitWord("commands.socketProxyd", c.commands.socketProxyd),
        TARGET: backendListen(c),
      }),
    },
  ];
}

/** The watched request file: `<dataDir>/upgrade-requested`. */
export function requestPath(config: Config): string {
  return `${unitWord("dataDir", config.dataDir)}/${REQUEST_FILE}`;
}

/** Reads every template in `dir` (default: the embedded `units/`). */
export async function loadTemplates(dir = TEMPLATE_DIR): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isFile && /\.(service|path|socket)$/.test(entry.name)) {
      out[entry.name] = await Deno.readTextFile(join(dir, entry.name));
    }
  }
  return out;
}
