/**
 * The `--json` documents of the operator commands as zod schemas, the one
 * source of their types: the commands build them typed from here, the tests
 * validate what the commands print against them. Strict objects, so that a
 * renamed or extra field fails a test and docs/operator.md is updated with it.
 */
import { z } from "zod";
import { CAUSES, RESULTS } from "../job/outcome.ts";

const hex64 = z.string().regex(/^[0-9a-f]{64}$/);
const version = z.string().regex(/^\d+\.\d+\.\d+(-[0-9A-Za-z.]+)?$/);
const iso = z.string().refine((s) => Number.isFinite(Date.parse(s)), "an ISO date");

const releaseJson = z.strictObject({ version: version.nullable(), image_id: hex64.nullable() });
/** A backend + frontend pair, as every command prints it. */
export const pairSchema = z.strictObject({ backend: releaseJson, frontend: releaseJson });

/** One `history --json` entry (also in `status --json`). */
export const historyEntryJson = z.strictObject({
  id: z.string().min(1),
  kind: z.enum(["upgrade", "rollback"]),
  trigger: z.enum(["request", "operator", "recovery"]),
  who: z.enum(["app request", "operator", "recovery"]),
  from: pairSchema,
  to: pairSchema,
  result: z.enum(RESULTS),
  message: z.string(),
  started_at: iso,
  finished_at: iso,
  duration_ms: z.number().min(0),
  backup: z.string().nullable(),
});

/** A pair as printed. */
export type PairJson = z.input<typeof pairSchema>;
/** One history entry as printed. */
export type HistoryEntryJson = z.input<typeof historyEntryJson>;

/** `history --json`. */
export const historyJsonSchema = z.strictObject({
  entries: z.array(historyEntryJson),
  total: z.number().int().min(0),
  warning: z.string().nullable(),
});

/** One problem. */
export const problemSchema = z.strictObject({
  id: z.string().regex(/^[a-z-]+$/),
  severity: z.enum(["error", "warning"]),
  message: z.string().min(10),
  fix: z.string().min(10),
});

const componentSchema = z.strictObject({
  version: version.nullable(),
  version_source: z.enum(["health", "tags", "none"]),
  image_id: hex64.nullable(),
  image_name: z.string().nullable(),
  image_tags: z.array(z.string()),
  container: z.string(),
  container_state: z.string(),
  started_at: z.string().nullable(),
  unit: z.string().endsWith(".service"),
  unit_state: z.string(),
  data_dir: z.string().optional(),
});

/** `status --json`. */
export const statusJsonSchema = z.strictObject({
  ok: z.boolean(),
  checked_at: iso,
  backend: componentSchema,
  frontend: componentSchema,
  health: z.strictObject({
    status: z.string().nullable(),
    version: z.string().nullable(),
    error: z.string().nullable(),
  }),
  units: z.record(z.string(), z.string()),
  upgrade: z.strictObject({
    running: z.boolean().nullable(),
    request: z.union([
      z.strictObject({ present: z.literal(false) }),
      z.strictObject({
        present: z.literal(true),
        backend: z.string().nullable(),
        frontend: z.string().nullable(),
        requested_at: z.string().nullable(),
        error: z.string().nullable(),
      }),
    ]),
    status: z.looseObject({ status: z.string() }).nullable(),
    journal: z.union([
      z.null(),
      z.strictObject({ corrupt: z.string() }),
      z.strictObject({
        id: z.string(),
        kind: z.enum(["upgrade", "rollback"]),
        trigger: z.enum(["request", "operator", "recovery"]),
        phase: z.string(),
        attempts: z.number().int(),
        started_at: iso,
        from: pairSchema,
        to: pairSchema,
        interrupted: z.boolean(),
      }),
    ]),
  }),
  history: z.array(historyEntryJson),
  backups: z.array(
    z.strictObject({ name: z.string(), bytes: z.number().int(), mtime: z.string().nullable() }),
  ),
  disk: z.union([
    z.strictObject({ path: z.string(), avail_bytes: z.number(), size_bytes: z.number() }),
    z.strictObject({ path: z.string(), error: z.string() }),
  ]),
  problems: z.array(problemSchema),
});

const planSchema = z.strictObject({
  from: pairSchema,
  to: pairSchema,
  source: z.string().min(1),
  pulls: z.array(z.string()),
  snapshot: z.string().nullable(),
  upgrade_backup: z.string().nullable(),
  interrupted_job: z.string().nullable(),
  request_pending: z.boolean(),
  noop: z.boolean(),
});

/** `rollback --dry-run --json`. */
export const rollbackPlanJsonSchema = z.strictObject({
  dry_run: z.literal(true),
  plan: planSchema,
});

/** `rollback --json` when the target already runs (nothing done, exit 0). */
export const rollbackNoopJsonSchema = z.strictObject({
  result: z.literal("noop"),
  plan: planSchema,
});

/** `rollback --json` (a job ran). */
export const rollbackOutcomeJsonSchema = z.strictObject({
  result: z.enum(["completed", "failed"]),
  job_id: z.string().min(1),
  from: pairSchema,
  to: pairSchema,
  message: z.string().min(1),
  live_touched: z.boolean(),
  restore: z.strictObject({
    snapshot: z.string(),
    aside_dir: z.string(),
    moved: z.array(z.enum(["network.db", "network.db-wal", "network.db-shm"])),
    sha256: hex64,
    bytes: z.number().int().min(1),
  }).nullable(),
  duration_ms: z.number().min(0),
});

/** `rollback --json` as printed. */
export type RollbackOutcomeJson = z.input<typeof rollbackOutcomeJsonSchema>;

/** `upgrade --json`: one document per run, for scripts and fleet engines (and fleet engines such as Ansible). */
export const upgradeJsonSchema = z.strictObject({
  /** The job's result, or "idle" when there was nothing to do (no request, --recover with no journal). */
  result: z.enum([...RESULTS, "idle"]),
  /** Whether anything that runs changed (a completed upgrade; a rollback put back what ran). */
  changed: z.boolean(),
  rolled_back: z.boolean(),
  exit_code: z.number().int(),
  message: z.string(),
  cause: z.enum(CAUSES).nullable(),
  job_id: z.string().nullable(),
  resumed: z.boolean(),
  from: pairSchema.nullable(),
  to: pairSchema.nullable(),
  duration_ms: z.number().min(0),
  phases_ms: z.record(z.string(), z.number().min(0)),
});

/** `upgrade --json` as printed. */
export type UpgradeJson = z.input<typeof upgradeJsonSchema>;

/**
 * What any command prints with `--json` when it ends on an error before printing its own
 * document (a bad command line or config, a busy lock, bad input, a bug): stdout still holds
 * exactly one document, so a script or a fleet engine never parses an empty one. The exit
 * code says what happened (README); whether anything changed is not claimed.
 */
export const errorJsonSchema = z.strictObject({
  result: z.literal("error"),
  exit_code: z.number().int().min(1),
  message: z.string().min(1),
});

/** The error document as printed. */
export type ErrorJson = z.input<typeof errorJsonSchema>;

/** `request --json`. */
export const requestJsonSchema = z.strictObject({
  path: z.string(),
  target_backend_version: version,
  target_frontend_version: version,
  current_version: version.nullable(),
  path_unit: z.string(),
});
