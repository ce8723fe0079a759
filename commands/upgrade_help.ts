/** The `--help` text of `grapheon-tool upgrade`. */

/** Help for the upgrade command. */
export const upgradeHelp = `Usage: grapheon-tool upgrade [options]

Runs the upgrade the app requested in <dataDir>/upgrade-requested (the app's JSON,
a bare version such as 0.10.4 or v0.10.4), or the one given by flags:
  1 back up network.db (SQLite snapshot, integrity-checked, into <stateDir>/backups)
  2 pull <backend image>:vX.Y.Z      3 pull <frontend image>:vX.Y.Z
    canary: the new backend runs beside the live one on a loopback port and must
    report healthy with the new version; if not, nothing live is touched
  4 point <image>:<runTag> at the pulled images, restart backend then frontend,
    check that each container runs the pulled image ID
  5 health: backend status healthy/degraded with the new version, frontend answers
On a failure at 4 or 5 the exact previous images are put back and verified.
The status the web UI polls (<dataDir>/upgrade-status.json) is written atomically at
every step. One upgrade at a time (a lock); an interrupted upgrade (SIGKILL, power
loss) is finished by the next run. SIGTERM/SIGINT stop at a safe point and roll back.

Options:
  --version X.Y.Z            upgrade both containers to X.Y.Z without a request file
  --backend-version X.Y.Z    backend version (with --frontend-version)
  --frontend-version X.Y.Z   frontend version (with --backend-version)
  --allow-downgrade          allow a lower version than the one running
  --no-canary                skip the canary (also: config canary.enabled=false)
  --recover                  only finish an interrupted upgrade (boot-time check)
  --wait-for-lock D          wait up to D for a busy lock before exiting 5 (default 0, or
                             15m when run by systemd: a busy exit would make the .path
                             unit re-trigger until its trigger limit disables it)
  --dry-run                  print the plan and change nothing

Exit codes:
  0  upgraded, or nothing to do (already running, no request)
  1  failed before anything live changed (pull or backup failed, interrupted)
  2  bad command line          3  bad config
  4  bad request (refused and archived; status says why), or a refused downgrade
  5  busy: another upgrade or rollback holds the lock; nothing touched
  6  failed and rolled back: the previous release runs and is healthy
  7  failed and the rollback failed too, or an interrupted rollback / unreadable
     journal needs an operator: act by hand (the status says how)
  8  refused by the canary: nothing live touched`;
