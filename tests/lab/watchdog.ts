/**
 * The lab's watchdog: a shell loop that outlives the lab's process if that
 * process dies without tearing down (SIGINT under `deno test` ends the process
 * at once, so do SIGKILL and crashes). It waits for the lab process to be
 * gone, then ends the PIDs recorded in a file of the run dir (`TERM pid`:
 * SIGTERM, then SIGKILL after 30 s; `KILL pid`: only SIGKILL, used for the
 * host's systemd, which re-executes itself on SIGTERM) and removes the run
 * dir. A normal teardown empties the file and stops the watchdog.
 */
import { join } from "node:path";

const SCRIPT = `
parent=$1; file=$2; dir=$3
while kill -0 "$parent" 2>/dev/null; do sleep 0.5; done
[ -s "$file" ] || exit 0
for p in $(sed -n 's/^TERM //p' "$file"); do kill -TERM "$p" 2>/dev/null; done
i=0
while [ $i -lt 60 ]; do
  alive=0
  for p in $(sed -n 's/^TERM //p' "$file"); do kill -0 "$p" 2>/dev/null && alive=1; done
  [ $alive = 0 ] && break
  sleep 0.5; i=$((i+1))
done
for p in $(cut -d' ' -f2 "$file"); do kill -KILL "$p" 2>/dev/null; done
sleep 1
rm -rf --one-file-system "$dir"
`;

/** Ends what the lab started if the lab's own process dies first. */
export class Watchdog {
  readonly #child: Deno.ChildProcess;
  readonly #pidsFile: string;

  private constructor(child: Deno.ChildProcess, pidsFile: string) {
    this.#child = child;
    this.#pidsFile = pidsFile;
  }

  /** Starts watching this process; on its death, the recorded PIDs end and `runDir` goes. */
  static start(runDir: string): Watchdog {
    const pidsFile = join(runDir, "pids");
    Deno.writeTextFileSync(pidsFile, "");
    const child = new Deno.Command("/bin/sh", {
      args: ["-c", SCRIPT, "lab-watchdog", String(Deno.pid), pidsFile, runDir],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    // It must not keep the lab's process alive.
    child.unref();
    return new Watchdog(child, pidsFile);
  }

  /** Records a PID to end (`TERM`: SIGTERM then SIGKILL; `KILL`: SIGKILL only). */
  guard(pid: number, how: "TERM" | "KILL"): void {
    Deno.writeTextFileSync(this.#pidsFile, `${how} ${pid}\n`, { append: true });
  }

  /** Forgets every PID and stops the watchdog (the lab tore down by itself). */
  async stop(): Promise<void> {
    await Deno.writeTextFile(this.#pidsFile, "").catch(() => {});
    // Awaiting an unref'd child's status needs a ref again.
    this.#child.ref();
    try {
      this.#child.kill("SIGKILL");
    } catch { /* already gone */ }
    await this.#child.status;
  }
}
