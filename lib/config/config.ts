/**
 * The configuration: one zod schema with defaults that match the Graphēon host
 * contract, read from `/etc/grapheon/grapheon-tool.json` (or `--config`, or
 * `GRAPHEON_TOOL_CONFIG`). Unknown keys are errors so that typos are caught.
 */
import { z } from "zod";
import { ConfigError, durationSchema, errorMessage, parseJson } from "../core/mod.ts";

/** Re-exported for the disko readers (one formatter: lib/core/json.ts). */
export { describeIssues } from "../core/json.ts";

/** The default config path. */
export const DEFAULT_CONFIG_PATH = "/etc/grapheon/grapheon-tool.json";

const absPath = z.string().regex(/^\//, "expected an absolute path");
const imageName = z.string().regex(
  /^[a-z0-9]+([._\-/:][a-z0-9]+)*$/,
  "expected an image name without a tag, such as ghcr.io/badgerops/grapheon-backend",
);
const unitName = z.string().regex(/^[A-Za-z0-9:_.@\\-]+\.service$/, "expected a .service unit");
const containerName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, "expected a container name");
const port = z.number().int().min(1).max(65535);
const url = z.string().regex(/^https?:\/\/[^\s]+$/, "expected an http:// or https:// URL");
const program = z.string().min(1).regex(/^[^\s]+$/, "expected a program name or path");
const tag = z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/, "expected an image tag");
const bindAddress = z.string().regex(
  /^$|^[0-9.]+$|^\[[0-9a-fA-F:]+\]$/,
  'expected an IPv4 address, a bracketed IPv6 address, or "" for all addresses',
);
const envName = z.string().regex(
  /^[A-Za-z_][A-Za-z0-9_]*$/,
  "expected an environment variable name",
);
/** Extra `-e KEY=VALUE` entries for a container (no newlines: they end up in a unit file). */
const environment = z.record(envName, z.string().regex(/^[^\n\r\0]*$/, "no newlines allowed"));

const backendSchema = z.strictObject({
  image: imageName.default("ghcr.io/badgerops/grapheon-backend"),
  service: unitName.default("grapheon-backend.service"),
  container: containerName.default("grapheon-backend"),
  port: port.default(8000),
  healthUrl: url.default("http://localhost:8000/health"),
  /** Where the backend sees the host data dir; `DATA_DIR` must point here. */
  containerDataDir: absPath.default("/app/data"),
  /** The backend's own port: the one the frontend's nginx asks for (at the network's gateway). */
  containerPort: port.default(8000),
  /** Host address of the backend's socket (`grapheon-backend.socket`, with `port`). */
  bindAddress: bindAddress.default("127.0.0.1"),
  /** Extra environment for the container (besides `envFile`). */
  environment: environment.default({}),
  /** Extra `--env-file`s for the container, read by podman (secrets such as JWT_SECRET). */
  envFiles: z.array(absPath).default([]),
  /** The release pulled and tagged `runTag` on first start, when no `<image>:<runTag>` exists. */
  seedTag: tag.default("latest"),
});

const frontendSchema = z.strictObject({
  image: imageName.default("ghcr.io/badgerops/grapheon-frontend"),
  service: unitName.default("grapheon-frontend.service"),
  container: containerName.default("grapheon-frontend"),
  port: port.default(8080),
  url: url.default("http://localhost:8080/"),
  /** The port nginx listens on inside the container. */
  containerPort: port.default(8080),
  /**
   * Host address of the frontend's port ("" = all addresses). With "" and `port` equal to
   * `containerPort`, the port is a socket that outlives the container; else Podman publishes it.
   */
  bindAddress: bindAddress.default(""),
  /** Extra environment for the container (besides `envFile`). */
  environment: environment.default({}),
  /** Extra `--env-file`s for the container. */
  envFiles: z.array(absPath).default([]),
  /** The release pulled and tagged `runTag` on first start, when no `<image>:<runTag>` exists. */
  seedTag: tag.default("latest"),
});

/** A dotted IPv4 subnet whose host bits are zero, prefix 8–30 (so its gateway is `.1` above it). */
function isNetworkAddress(subnet: string): boolean {
  const [address, prefixText] = subnet.split("/");
  const octets = address.split(".").map(Number);
  const prefix = Number(prefixText);
  if (octets.some((o) => o > 255) || prefix < 8 || prefix > 30) return false;
  const value = octets.reduce((n, o) => n * 256 + o, 0);
  return value % 2 ** (32 - prefix) === 0;
}

/** The gateway of `networkSubnet`: its first address. */
export function networkGateway(subnet: string): string {
  const octets = subnet.split("/")[0].split(".").map(Number);
  octets[3] += 1;
  return octets.join(".");
}

/** The unit holding a service's listening socket: the same name with `.socket`. */
export function socketUnit(service: string): string {
  return service.replace(/\.service$/, ".socket");
}

/** The config schema; `z.infer` of it is the `Config` type. */
export const configSchema = z.strictObject({
  dataDir: absPath.default("/var/lib/grapheon/data"),
  stateDir: absPath.default("/var/lib/grapheon-tool"),
  binPath: absPath.default("/opt/grapheon/bin/grapheon-tool"),
  envFile: absPath.default("/etc/grapheon/grapheon.env"),
  /** The local tag the container units run; the tool points it at the release to run. */
  runTag: tag.default("current"),
  /**
   * The Podman network both containers join, so that the frontend's nginx reaches
   * the backend by container name; "host" runs both on the host network (no -p).
   */
  network: z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,62}$/, "expected a podman network name")
    .default("grapheon"),
  /**
   * The network's IPv4 subnet (created with it). The frontend reaches the backend on its
   * gateway, the subnet's first address, which outlives every backend container.
   */
  networkSubnet: z.string().regex(
    /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/,
    "expected an IPv4 subnet such as 10.89.0.0/24",
  ).refine(isNetworkAddress, "expected the subnet's network address, with a prefix of 8 to 30")
    .default("10.89.0.0/24"),
  backend: backendSchema.prefault({}),
  frontend: frontendSchema.prefault({}),
  timeouts: z.strictObject({
    pull: durationSchema.default("300s"),
    pullRetries: z.number().int().min(0).max(10).default(2),
    restart: durationSchema.default("90s"),
    health: durationSchema.default("120s"),
    healthRequest: durationSchema.default("5s"),
    canary: durationSchema.default("90s"),
    stop: durationSchema.default("15s"),
  }).prefault({}),
  health: z.strictObject({
    acceptStatus: z.array(z.string().min(1)).min(1).default(["healthy", "degraded"]),
    /**
     * After a (re)start, answers that are not healthy are expected for this long (podman's
     * `--health-start-period`); silence (refused, no answer) is waited for until the deadline.
     */
    // The defaults follow podman's healthcheck (`--health-retries` 3, `--health-start-period`
    // 0s, podman-run(1)), with a second of start period: uvicorn accepts only once the app has
    // started, so an unhealthy answer is the app's own verdict, not a boot in progress.
    startPeriod: durationSchema.default("1s"),
    /** Unhealthy answers in a row, after the start period, that fail the release at once. */
    unhealthyThreshold: z.number().int().min(1).max(1000).default(3),
  }).prefault({}),
  backups: z.strictObject({
    keep: z.number().int().min(1).max(1000).default(5),
  }).prefault({}),
  images: z.strictObject({
    /** Releases kept besides the running and previous ones. */
    keep: z.number().int().min(0).max(100).default(2),
  }).prefault({}),
  canary: z.strictObject({
    enabled: z.boolean().default(true),
  }).prefault({}),
  /** How many times an interrupted upgrade is resumed before it ends as failed. */
  maxAttempts: z.number().int().min(1).max(20).default(3),
  commands: z.strictObject({
    podman: program.default("podman"),
    systemctl: program.default("systemctl"),
    lsblk: program.default("lsblk"),
    findmnt: program.default("findmnt"),
    nix: program.default("nix"),
    nixInstantiate: program.default("nix-instantiate"),
    /** `df`, for the free space where images live (`grapheon-tool status`). */
    df: program.default("df"),
    /** `journalctl`, for the last log lines of a unit whose `--rm` container exited. */
    journalctl: program.default("journalctl"),
    /**
     * iproute2's `ip`, to pin the container network bridge's MAC address before a swap (see
     * lib/host/bridge.ts).
     */
    ip: program.default("ip"),
    /** systemd's socket relay (not on $PATH), from the network's gateway to the backend. */
    socketProxyd: absPath.default("/usr/lib/systemd/systemd-socket-proxyd"),
  }).prefault({}),
});

/** The effective configuration. */
export type Config = z.infer<typeof configSchema>;

/** The built-in defaults. */
export function defaultConfig(): Config {
  return configSchema.parse({});
}

/** Parses config JSON text; throws ConfigError naming `source` and the field. */
export function parseConfig(text: string, source: string): Config {
  const result = parseJson(configSchema, text, source);
  if (!result.ok) throw new ConfigError(result.error);
  return result.value;
}

/** Where the config comes from: `--config`, else `GRAPHEON_TOOL_CONFIG`, else the default path. */
export function configPath(flag: string | undefined): { path: string; explicit: boolean } {
  if (flag) return { path: flag, explicit: true };
  const env = Deno.env.get("GRAPHEON_TOOL_CONFIG");
  if (env) return { path: env, explicit: true };
  return { path: DEFAULT_CONFIG_PATH, explicit: false };
}

/**
 * Loads the effective config. A missing default file means the defaults; a
 * missing file that was named explicitly is an error.
 */
export async function loadConfig(flag?: string): Promise<{ config: Config; path: string | null }> {
  const { path, explicit } = configPath(flag);
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound && !explicit) {
      return { config: defaultConfig(), path: null };
    }
    throw new ConfigError(`${path}: cannot read config: ${errorMessage(err)}`);
  }
  return { config: parseConfig(text, path), path };
}
