/**
 * The plan of a rollback, read from the host without changing it: what runs
 * (live containers and health), the target (lib/rollback/plan.ts from the
 * history, an interrupted journal, or `--to`), which target images are still on
 * the host and which must be pulled by their `vX.Y.Z` tag, and the snapshot to
 * restore. Used for `--dry-run`, the confirmation prompt and the job itself.
 */
import { join } from "node:path";
import { type AppVersion, InputError, ToolError, versionedRef } from "../core/mod.ts";
import {
  type Journal,
  readHistory,
  readJournal,
  readRequestText,
  type ReleasePair,
} from "../job/mod.ts";
import type { Host } from "../host/mod.ts";
import {
  checkRestorable,
  livePair,
  readLive,
  resolveSnapshot,
  type Snapshot,
} from "../release/mod.ts";
import { namedRelease, previousRelease, samePair } from "./plan.ts";

/** What the operator asked. */
export interface RollbackRequest {
  /** `--to`: backend version (frontend: `toFrontend`, else the one recorded with it). */
  to?: AppVersion;
  /** `--frontend`: frontend version with `--to`. */
  toFrontend?: AppVersion;
  /** `--restore-data`: `latest` or a snapshot name. */
  restoreData?: string;
}

/** One image to pull before anything live changes. */
export interface PlannedPull {
  /** Which component. */
  which: "backend" | "frontend";
  /** `<image>:vX.Y.Z`. */
  ref: string;
  /** The image ID recorded in the history (pruned since), if any. */
  recordedId: string | null;
}

/** The plan. */
export interface RollbackPlan {
  /** What runs now. */
  from: ReleasePair;
  /** What will run; image IDs are filled in for images on the host, null where a pull is due. */
  to: ReleasePair;
  /** Why this target, in words. */
  source: string;
  /** Images to pull first. */
  pulls: PlannedPull[];
  /** The snapshot to restore, if asked. */
  snapshot: Snapshot | null;
  /** The snapshot taken by the upgrade being undone (a hint for --restore-data). */
  upgradeBackup: string | null;
  /** An interrupted job this rollback supersedes. */
  interrupted: Journal | null;
  /** An upgrade request is waiting in the data dir (it would re-upgrade after the rollback). */
  requestPending: boolean;
  /** The target already runs and no restore was asked: nothing to do. */
  noop: boolean;
}

async function locate(
  host: Host,
  which: "backend" | "frontend",
  release: { version: string | null; imageId: string | null },
): Promise<{ imageId: string | null; pull: PlannedPull | null }> {
  const image = host.config[which].image;
  if (release.imageId && (await host.podman.inspectImage(release.imageId))) {
    return { imageId: release.imageId, pull: null };
  }
  if (!release.version) {
    throw new ToolError(
      `the ${which} image ${release.imageId?.slice(0, 12)} recorded in the history is no longer ` +
        `on the host and its version is unknown, so it cannot be pulled; use --to X.Y.Z`,
    );
  }
  const ref = versionedRef(image, release.version);
  if (!release.imageId) {
    const local = await host.podman.imageId(ref);
    if (local) return { imageId: local, pull: null };
  }
  return { imageId: null, pull: { which, ref, recordedId: release.imageId } };
}

/** Builds the plan; throws ToolError (exit 1) when there is nothing to roll back to, InputError (4) for a bad snapshot. */
export async function prepareRollback(host: Host, request: RollbackRequest): Promise<RollbackPlan> {
  const { config } = host;
  const live = await readLive(host);
  const from = livePair(live);
  const { entries, warning } = await readHistory(config.stateDir);
  if (warning) host.log.warn(`history: ${warning}`);
  const j = await readJournal(config.stateDir);
  if (j && "corrupt" in j) {
    throw new ToolError(
      `the upgrade journal is unreadable (${j.corrupt}); move it aside and use --to X.Y.Z`,
    );
  }
  const target = request.to
    ? namedRelease({ history: entries, backend: request.to, frontend: request.toFrontend })
    : previousRelease({ history: entries, live: from, journal: j });
  if ("reason" in target) throw new ToolError(target.reason);
  const snapshot = request.restoreData
    ? await resolveSnapshot(join(config.stateDir, "backups"), request.restoreData)
    : null;
  if (snapshot) await checkRestorable(config.dataDir, snapshot);
  const b = await locate(host, "backend", target.pair.backend);
  const f = await locate(host, "frontend", target.pair.frontend);
  const to: ReleasePair = {
    backend: { version: target.pair.backend.version, imageId: b.imageId },
    frontend: { version: target.pair.frontend.version, imageId: f.imageId },
  };
  const pulls = [b.pull, f.pull].filter((p): p is PlannedPull => p !== null);
  let requestPending = false;
  try {
    requestPending = (await readRequestText(config.dataDir)) !== null;
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    requestPending = true; // a symlink or odd file there is pending too: --clear removes it
  }
  return {
    from,
    to,
    source: target.source,
    pulls,
    snapshot,
    upgradeBackup: target.upgradeBackup,
    interrupted: j,
    requestPending,
    noop: pulls.length === 0 && snapshot === null && samePair(to, from) &&
      live.backend.running && live.frontend.running,
  };
}
