/**
 * Pure decisions of `grapheon-tool rollback`: which release to go back to.
 * By default the release that ran before the current one was installed (the
 * `from` of the newest completed upgrade whose `to` is what runs now, or of an
 * interrupted upgrade that already touched the live units; the newest upgrade's
 * `from` only when what runs is not in the history at all); with `--to X.Y.Z`
 * the newest recorded image IDs of that version, else its `vX.Y.Z` tag to pull.
 */
import type { AppVersion } from "../core/mod.ts";
import {
  type HistoryEntry,
  type Journal,
  liveTouched,
  type Release,
  type ReleasePair,
} from "../job/mod.ts";

/** The release to switch to, per component, and where it was found. */
export interface RollbackTarget {
  /** Backend and frontend: version and the recorded image ID (null: pull the version tag). */
  pair: ReleasePair;
  /** Where the target came from, in words (for the plan and the log). */
  source: string;
  /** The snapshot the upgrade being undone took, if it recorded one. */
  upgradeBackup: string | null;
}

/** Why there is nothing to roll back to. */
export interface NoTarget {
  /** One sentence for the operator. */
  reason: string;
}

/** True when two releases are the same image (or, lacking IDs, the same version). */
export function sameRelease(a: Release, b: Release): boolean {
  if (a.imageId && b.imageId) return a.imageId === b.imageId;
  return a.version !== null && a.version === b.version;
}

/** True when both components of `a` and `b` are the same releases. */
export function samePair(a: ReleasePair, b: ReleasePair): boolean {
  return sameRelease(a.backend, b.backend) && sameRelease(a.frontend, b.frontend);
}

function usable(pair: ReleasePair): boolean {
  return (pair.backend.imageId !== null || pair.backend.version !== null) &&
    (pair.frontend.imageId !== null || pair.frontend.version !== null);
}

function describe(pair: ReleasePair): string {
  const b = pair.backend.version ?? pair.backend.imageId?.slice(0, 12) ?? "?";
  const f = pair.frontend.version ?? pair.frontend.imageId?.slice(0, 12) ?? "?";
  return b === f ? b : `backend ${b} / frontend ${f}`;
}

/**
 * The default target (pure): an interrupted upgrade that touched the live units
 * goes back to its `from` (an interrupted rollback is finished); else the `from`
 * of the newest completed upgrade whose `to` runs now; else, when what runs is
 * nowhere in the history, the `from` of the newest completed upgrade. Repeated
 * rollbacks walk back the chain of upgrades. A target equal to what runs now is
 * no target.
 */
export function previousRelease(options: {
  /** History, oldest first. */
  history: readonly HistoryEntry[];
  /** What runs now. */
  live: ReleasePair;
  /** An interrupted job's journal, if any. */
  journal: Journal | null;
}): RollbackTarget | NoTarget {
  const { history, live, journal } = options;
  if (journal && journal.kind === "rollback" && usable(journal.to)) {
    return {
      pair: journal.to,
      source: `interrupted rollback ${journal.id} (phase ${journal.phase}) to ${
        describe(journal.to)
      }, finished now`,
      upgradeBackup: null,
    };
  }
  if (journal && journal.kind === "upgrade" && liveTouched(journal.phase) && usable(journal.from)) {
    if (!samePair(journal.from, live)) {
      return {
        pair: journal.from,
        source: `interrupted upgrade ${journal.id} (phase ${journal.phase}) started from ${
          describe(journal.from)
        }`,
        upgradeBackup: journal.backup,
      };
    }
  }
  const upgrades = history.filter((e) => e.kind === "upgrade" && e.result === "completed")
    .slice().reverse();
  const matching = upgrades.find((e) => samePair(e.to, live) && usable(e.from));
  // What runs was reached some other way (a rollback, the first install): an older release
  // than it is not known, and the newest upgrade's `from` could be a newer one.
  const known = history.some((e) => samePair(e.from, live) || samePair(e.to, live));
  if (!matching && known) {
    return {
      reason: `nothing to roll back to: no recorded upgrade installed what runs now (${
        describe(live)
      }), so no older release is known (use --to X.Y.Z to run a named release)`,
    };
  }
  const chosen = matching ?? upgrades.find((e) => usable(e.from));
  if (!chosen) {
    return {
      reason: "nothing to roll back to: the history has no completed upgrade " +
        "(use --to X.Y.Z to run a named release)",
    };
  }
  if (samePair(chosen.from, live)) {
    return {
      reason: `nothing to roll back to: the release before the last upgrade (${
        describe(chosen.from)
      }) is the one running now (use --to X.Y.Z to run another release)`,
    };
  }
  return {
    pair: chosen.from,
    source: `${
      matching ? "the upgrade that installed what runs now" : "the newest upgrade"
    } (${chosen.id}, ${describe(chosen.from)} → ${describe(chosen.to)}, ${chosen.finishedAt})`,
    upgradeBackup: chosen.backup,
  };
}

/** Every release pair the history knows, newest first (both sides of each entry). */
function recordedPairs(history: readonly HistoryEntry[]): ReleasePair[] {
  const out: ReleasePair[] = [];
  for (const e of history.slice().reverse()) out.push(e.to, e.from);
  return out;
}

function newestRecord(
  history: readonly HistoryEntry[],
  which: "backend" | "frontend",
  version: string,
): Release | null {
  for (const pair of recordedPairs(history)) {
    const r = pair[which];
    if (r.version === version && r.imageId) return { version, imageId: r.imageId };
  }
  return null;
}

/**
 * The target for `--to X.Y.Z` (pure): the frontend that ran with that backend
 * in the newest record of it, else the same version for both; each with the
 * newest recorded image ID of that version, or none (then its tag is pulled).
 */
export function namedRelease(options: {
  /** History, oldest first. */
  history: readonly HistoryEntry[];
  /** The backend version asked for. */
  backend: AppVersion;
  /** The frontend version asked for; default: the one recorded with that backend, else the same. */
  frontend?: AppVersion;
}): RollbackTarget {
  const { history, backend } = options;
  let frontend: string | undefined = options.frontend;
  let source = "";
  if (frontend === undefined) {
    const together = recordedPairs(history).find((p) =>
      p.backend.version === backend && p.frontend.version !== null
    );
    frontend = together?.frontend.version ?? backend;
    source = together ? `frontend ${frontend} ran with backend ${backend} in the history` : "";
  }
  const b = newestRecord(history, "backend", backend) ?? { version: backend, imageId: null };
  const f = newestRecord(history, "frontend", frontend) ?? { version: frontend, imageId: null };
  const how = (r: Release, which: string) =>
    r.imageId
      ? `${which} image ${r.imageId.slice(0, 12)} from the history`
      : `${which} tag v${r.version}`;
  const upgrade = history.slice().reverse().find((e) =>
    e.kind === "upgrade" && e.from.backend.version === backend && e.backup !== null
  );
  return {
    pair: { backend: b, frontend: f },
    source: [how(b, "backend"), how(f, "frontend"), source].filter(Boolean).join("; "),
    upgradeBackup: upgrade?.backup ?? null,
  };
}
