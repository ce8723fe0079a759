/**
 * Pure decisions of the upgrade runner: whether a target is a downgrade, a
 * no-op, or an upgrade; and which old images may be pruned.
 */
import { type AppVersion, compareAppVersions, COMPONENTS, parseAppVersion } from "../core/mod.ts";

/** The target of an upgrade. */
export interface Target {
  /** Backend version. */
  backend: AppVersion;
  /** Frontend version. */
  frontend: AppVersion;
}

/** What runs, as far as known. */
export interface Current {
  /** Backend version and image ID. */
  backend: { version: string | null; imageId: string | null };
  /** Frontend version and image ID. */
  frontend: { version: string | null; imageId: string | null };
}

/** The decision before any pull. */
export type Decision =
  | { kind: "upgrade" }
  | { kind: "noop"; reason: string }
  | { kind: "refuse-downgrade"; reason: string };

/** Decides (pure). `localTargetIds` are the IDs of local `image:vX.Y.Z` tags, null when absent. */
export function decideUpgrade(options: {
  current: Current;
  target: Target;
  localTargetIds: { backend: string | null; frontend: string | null };
  allowDowngrade: boolean;
}): Decision {
  const { current, target } = options;
  if (!options.allowDowngrade) {
    if (current.backend.imageId !== null && current.backend.version === null) {
      return {
        kind: "refuse-downgrade",
        reason:
          "cannot tell which backend version runs (no health answer, no vX.Y.Z tag on its image), " +
          "so this could be a downgrade; use --allow-downgrade to go ahead",
      };
    }
    for (const which of COMPONENTS) {
      const running = current[which].version ? parseAppVersion(current[which].version!) : null;
      if (running && compareAppVersions(target[which], running) < 0) {
        return {
          kind: "refuse-downgrade",
          reason: `refusing to downgrade the ${which} from ${running} to ${target[which]} ` +
            `(the app has no schema downgrade path); use --allow-downgrade, or 'grapheon-tool rollback'`,
        };
      }
    }
  }
  const same = COMPONENTS.every((w) =>
    current[w].version === target[w] && current[w].imageId !== null &&
    options.localTargetIds[w] === current[w].imageId
  );
  if (same) {
    return {
      kind: "noop",
      reason: `already running backend ${target.backend} and frontend ${target.frontend}`,
    };
  }
  return { kind: "upgrade" };
}
