/** The public face of lib/config: what the rest of the tool uses of it. */
export {
  type Config,
  configPath,
  defaultConfig,
  loadConfig,
  networkGateway,
  parseConfig,
  socketUnit,
} from "./config.ts";
