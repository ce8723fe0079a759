/**
 * The contract's manual recovery (`rollback --clear`): an upgrade that died
 * leaves its request (the `.path` unit fires again and again) and a status
 * stuck at `running` (the web UI waits forever). The request is archived in the
 * state dir like any handled request; the status file is removed, so the app
 * reports `idle`. Neither is followed if it is a symlink. Run under the lock.
 */
import { archiveRequest, statusPath } from "../job/mod.ts";
import { lstatOrNull } from "../host/mod.ts";

/** What was cleared. */
export interface ClearResult {
  /** Where the request went, or null when there was none. */
  request: string | null;
  /** The status file was removed. */
  status: boolean;
}

/** Archives the request and removes the status file. */
export async function clearStale(options: {
  /** Host data dir. */
  dataDir: string;
  /** Tool state dir (the archive goes to `requests/` in it). */
  stateDir: string;
  /** Timestamp for the archive name. */
  now: Date;
}): Promise<ClearResult> {
  const archived = await archiveRequest({
    dataDir: options.dataDir,
    stateDir: options.stateDir,
    outcome: "cleared",
    now: options.now,
  });
  const path = statusPath(options.dataDir);
  const info = await lstatOrNull(path);
  if (info && info.isDirectory) throw new Error(`${path} is a directory; remove it by hand`);
  if (info) await Deno.remove(path); // removes a symlink itself, never its target
  const request = archived.kind === "archived" || archived.kind === "moved-aside"
    ? archived.path
    : null;
  return { request, status: info !== null };
}
