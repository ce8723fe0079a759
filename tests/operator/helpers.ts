/**
 * Helpers for the operator command tests: a harness host whose
 * `grapheon-upgrade.path` state and `df` figures the test controls (through
 * the harness's systemctl and df doubles), the upgrade a rollback undoes run
 * through the real `upgrade`, and readers for JSON, SQLite files and hashes.
 */
import { DatabaseSync } from "node:sqlite";
import { Harness, type HarnessOptions } from "../harness/harness.ts";

/** A harness host, disposed with the scope. */
export interface OperatorHost extends AsyncDisposable {
  /** The harness. */
  h: Harness;
  /** Sets what `systemctl show grapheon-upgrade.path -p ActiveState` says. */
  setPathUnit(state: "active" | "inactive" | "failed"): Promise<void>;
  /** Sets what `df --output=avail,size -B1` says. */
  setDisk(availBytes: number, sizeBytes: number): Promise<void>;
}

/**
 * A harness host (its systemctl double knows `grapheon-upgrade.path`, active;
 * its df double reports 50 of 100 GiB free unless changed).
 */
export async function operatorHost(options: HarnessOptions = {}): Promise<OperatorHost> {
  const h = await Harness.create(options);
  return {
    h,
    setPathUnit: (state) => h.setUnitState("grapheon-upgrade.path", state),
    setDisk: (avail, size) => h.setDisk(avail, size),
    [Symbol.asyncDispose]: () => h.close(),
  };
}

/** Runs the real `upgrade` to `version` (no canary, to keep tests short); throws unless it completed. */
export async function upgradeTo(h: Harness, version: string): Promise<void> {
  const r = await h.runTool(["upgrade", "--version", version, "--no-canary"]);
  if (r.code !== 0) throw new Error(`upgrade to ${version} exited ${r.code}: ${r.stderr}`);
}

/** Parses a tool's JSON stdout, with the output in the error when it is not JSON. */
export function parseJson(stdout: string): unknown {
  try {
    return JSON.parse(stdout);
  } catch {
    throw new Error(`stdout is not JSON: ${stdout.slice(0, 500)}`);
  }
}

/** Rows of a table in a SQLite file (opened read-only; its -wal next to it is read too). */
export function rows(path: string, sql: string): Record<string, unknown>[] {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    return db.prepare(sql).all() as Record<string, unknown>[];
  } finally {
    db.close();
  }
}

/** SHA-256 of a file, hex. */
export async function sha256(path: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", await Deno.readFile(path));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}
