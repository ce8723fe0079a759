/**
 * The process exit codes of every grapheon-tool command, in one table so that
 * `--help`, the README and the code cannot disagree.
 */

/** Exit codes, by meaning. */
export const EXIT = {
  /** Success: the command did what was asked (health: healthy; status: no problems). */
  OK: 0,
  /** The command ran and found a failure (health: not healthy by the deadline; status: problems found; disko check: errors). */
  FAILURE: 1,
  /** Bad command line: unknown command or option, bad option value. */
  USAGE: 2,
  /** The configuration file is missing a field, has a wrong type or an unknown key. */
  CONFIG: 3,
  /** Bad input file: the upgrade request, a layout, a snapshot name; nothing was changed. */
  BAD_INPUT: 4,
  /** Another upgrade or rollback holds the lock; nothing was touched. */
  BUSY: 5,
  /** The upgrade failed and the host was rolled back to the release that ran before. */
  ROLLED_BACK: 6,
  /** The upgrade (or a rollback) failed and the automatic rollback failed too, or a journal needs an operator: act by hand. */
  ROLLBACK_FAILED: 7,
  /** The new release failed its canary; nothing live was touched. */
  CANARY_REFUSED: 8,
  /** disko diff: the worst change is not applied by disko to an existing disk. */
  NOT_APPLIED: 9,
  /** disko diff: the worst change destroys or renames data on a disk. */
  DESTRUCTIVE: 10,
  /** An unexpected internal error (a bug): the message and stack go to the log. */
  INTERNAL: 70,
} as const;

/** One exit code value. */
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** Human lines documenting the exit codes, used by `--help` (README has the same table). */
export const EXIT_CODE_HELP: readonly string[] = [
  "  0   success",
  "  1   failure found (health: unhealthy at deadline; status: problems; disko check: errors)",
  "  2   bad command line",
  "  3   bad configuration file",
  "  4   bad input (request, layout, snapshot); nothing changed",
  "  5   busy: another upgrade or rollback holds the lock; nothing changed",
  "  6   upgrade failed, rolled back to the previous release",
  "  7   upgrade failed and rollback failed, or a journal needs an operator: act by hand",
  "  8   refused by canary: the new release failed before the swap; nothing live touched",
  "  9   disko diff: a change disko will not apply to an existing disk",
  "  10  disko diff: a destructive change",
  "  70  internal error (a bug)",
];
