/** The public face of lib/install: what the rest of the tool uses of it. */
export { activateUnits, deactivateUnits, reloadAfterRemoval } from "./activation.ts";
export {
  backupPath,
  type DesiredFile,
  ensureDirs,
  loadTargetConfig,
  planFile,
  type PlannedFile,
  readCurrent,
  resolveProgram,
  saveForeign,
  writePlanned,
} from "./installer.ts";
export {
  emptyManifest,
  type Manifest,
  manifestPath,
  readManifest,
  sha256Hex,
  writeManifest,
} from "./manifest.ts";
export { currentToolSource } from "./source.ts";
export { loadTemplates, renderUnits } from "./units.ts";
