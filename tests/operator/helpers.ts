/**
 * Helpers for the operator command tests: a harness host whose
 * `grapheon-upgrade.path` state and `df` figures the test controls (the
 * harness's systemctl double models only the container units, and the real
 * disk's free space must not decide a test), history entries with real image
 * IDs, and the upgrade a rollback undoes, run through the real `upgrade`.
 */
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { Harness, HARNESS_BIN, type HarnessOptions } from "../harness/harness.ts";

/** A harness plus the knobs of the wrappers. */
export interface OperatorHost extends AsyncDisposable {
  /** The harness. */
  h: Harness;
  /** Sets what `systemctl show grapheon-upgrade.path -p ActiveState` says. */
  setPathUnit(state: string): Promise<void>;
  /** Sets what `df --output=avail,size -B1` says. */
  setDisk(availBytes: number, sizeBytes: number): Promise<void>;
}

const GIB = 1024 ** 3;

/** A harness host with the `.path` unit active and 50 of 100 GiB free unless changed. */
export async function operatorHost(options: HarnessOptions = {}): Promise<OperatorHost> {
  const dir = await Deno.makeTempDir({ prefix: "grapheon-operator-" });
  const systemctl = join(dir, "systemctl");
  const df = join(dir, "df");
  await Deno.writeTextFile(
    systemctl,
    `#!/bin/sh
# Test wrapper: answers for grapheon-upgrade.path, passes everything else to the harness double.
here=$(dirname "$0")
if [ "$1" = show ] && [ "$2" = grapheon-upgrade.path ]; then
  echo "ActiveState=$(cat "$here/path-state")"
  exit 0
fi
exec ${JSON.stringify(join(HARNESS_BIN, "systemctl"))} "$@"
`,
    { mode: 0o755 },
  );
  await Deno.writeTextFile(
    df,
    `#!/bin/sh
# Test double of df --output=avail,size -B1 PATH: figures from a file.
echo "      Avail    1B-blocks"
cat "$(dirname "$0")/df-values"
`,
    { mode: 0o755 },
  );
  const setPathUnit = (state: string) => Deno.writeTextFile(join(dir, "path-state"), state + "\n");
  const setDisk = (avail: number, size: number) =>
    Deno.writeTextFile(join(dir, "df-values"), `${avail} ${size}\n`);
  await setPathUnit("active");
  await setDisk(50 * GIB, 100 * GIB);
  let h: Harness;
  try {
    h = await Harness.create({
      ...options,
      configOverrides: {
        ...options.configOverrides,
        commands: { systemctl, df },
      },
    });
  } catch (err) {
    await Deno.remove(dir, { recursive: true });
    throw err;
  }
  return {
    h,
    setPathUnit,
    setDisk,
    async [Symbol.asyncDispose]() {
      await h.close();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
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

/** Waits up to `ms` for `probe` to be true. */
export async function waitUntil(probe: () => boolean | Promise<boolean>, ms = 10_000) {
  const until = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > until) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 25));
  }
}
