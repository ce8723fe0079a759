/** The public face of lib/release: what the rest of the tool uses of it. */
export { backupDatabase, listBackups } from "./backup.ts";
export { canaryUnavailable, cleanupCanary, runCanary } from "./canary.ts";
export { keepVersionTag, pruneOldImages } from "./image_retention.ts";
export { livePair, readLive, readLiveAndImages, versionFromTags } from "./live.ts";
export { pullImage } from "./pull.ts";
export {
  checkRestorable,
  resolveSnapshot,
  restoreDatabase,
  type RestoreResult,
  type Snapshot,
} from "./restore.ts";
export { socketServerProblem } from "./socket_server.ts";
export { type HealthCheck, switchImages, unhealthyText, verifyHealth } from "./switch.ts";
