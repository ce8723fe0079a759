/**
 * `grapheon-upgrade.path` made real, in the test process: systemd's
 * `PathExists=` on the request file starts `grapheon-upgrade.service`, and
 * starts it again each time the service ends while the file still exists.
 * After `startLimit` starts in a row with the file still there (systemd's
 * default StartLimitBurst=5 within 10 s), the path unit gives up: ActiveState
 * `failed`, Result `unit-start-limit-hit`, as a real host does when the upgrade
 * keeps leaving its marker behind (the upstream script's loop).
 */
import { lstatOrNull } from "../../lib/host/files.ts";
import { PATH_UNIT } from "./harness_setup.ts";
import { readState, sleep, withState } from "./state.ts";

/** Options for the watcher. */
export interface PathWatchOptions {
  /** How often the request file is checked (ms, default 100). */
  pollMs?: number;
  /** Starts in a row with the file still there before the path unit fails (default 5). */
  startLimit?: number;
}

/** What the watcher needs from the harness. */
export interface PathWatcherDeps extends PathWatchOptions {
  /** The doubles' state dir. */
  stateDir: string;
  /** The host path of the request file. */
  requestPath: string;
  /** Starts the upgrade service and waits for it (a systemctl double call). */
  startService: () => Promise<{ code: number }>;
}

/** Polls the request file and starts the upgrade service like the path unit. */
export class PathUnitWatcher {
  /** Services started so far. */
  triggers = 0;
  #inARow = 0;
  #stopped = false;
  readonly #loop: Promise<void>;

  /** Starts watching at once. */
  constructor(private readonly deps: PathWatcherDeps) {
    this.#loop = this.#run();
  }

  async #run(): Promise<void> {
    const pollMs = this.deps.pollMs ?? 100;
    const limit = this.deps.startLimit ?? 5;
    while (!this.#stopped) {
      await this.#tick(limit).catch(() => {});
      await sleep(pollMs);
    }
  }

  async #tick(limit: number): Promise<void> {
    const unit = readState(this.deps.stateDir).units[PATH_UNIT];
    if (!unit || unit.activeState !== "active") return;
    if (!(await lstatOrNull(this.deps.requestPath))) {
      this.#inARow = 0;
      return;
    }
    if (this.#inARow >= limit) {
      await withState(this.deps.stateDir, (s) => {
        const u = s.units[PATH_UNIT];
        u.activeState = "failed";
        if (u.kind === "plain") u.result = "unit-start-limit-hit";
      });
      return;
    }
    this.#inARow += 1;
    this.triggers += 1;
    await this.deps.startService();
  }

  /** Stops watching; waits for a service run in progress (close kills it anyway). */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#loop;
  }
}
