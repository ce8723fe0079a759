/** The public face of lib/host: what the rest of the tool uses of it. */
export { Bridge, type BridgeOps, type PinnedBridge } from "./bridge.ts";
export { type Clock } from "./clock.ts";
export { diskSpace } from "./disk.ts";
export { run, runChecked, type Runner, tail } from "./exec.ts";
export {
  assertRegularOrMissing,
  ensureDir,
  exists,
  isNoSpace,
  lstatOrNull,
  readFileSafe,
  rewriteInPlace,
  syncDir,
  writeFileAtomic,
} from "./files.ts";
export { type Host, hostFor, realHost } from "./host.ts";
export { HttpFailure, type HttpGet } from "./http.ts";
export { type ContainerInfo, type ImageInfo, type ImageListEntry } from "./podman.ts";
export { journalTail, Systemd } from "./systemd.ts";
