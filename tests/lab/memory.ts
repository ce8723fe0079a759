/**
 * Peak memory of the tool while it runs in the lab host: samples `VmHWM` (the
 * kernel's high-water mark of a process's resident memory) of every process
 * running the tool's entry point, from the build machine's /proc (the host's
 * processes are visible there), every few tens of milliseconds. VmHWM only
 * grows, so the last sample before a process exits is its peak, give or take
 * what it allocated in its last interval.
 */
import { SRC_DIR } from "./tool.ts";

/** Samples the tool's processes until stopped. */
export class ToolMemorySampler {
  readonly #peaks = new Map<number, number>();
  readonly #match: string;
  readonly #subcommands: ReadonlySet<string>;
  #timer: ReturnType<typeof setInterval> | null = null;

  /** `subcommands`: which tool runs count (by their first non-option argument). */
  constructor(subcommands: readonly string[] = ["upgrade", "rollback"]) {
    this.#match = `${SRC_DIR}/main.ts`;
    this.#subcommands = new Set(subcommands);
  }

  /** Starts sampling every `intervalMs`. */
  start(intervalMs = 20): void {
    this.#timer = setInterval(() => this.#sample(), intervalMs);
  }

  /** Stops sampling. */
  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }

  /** The largest peak (MB) of the processes seen since the last call, then forgets them. */
  takePeakMb(): number | null {
    this.#sample();
    const peak = Math.max(0, ...this.#peaks.values());
    this.#peaks.clear();
    return peak > 0 ? peak / 1024 : null;
  }

  #sample(): void {
    let entries: Iterable<Deno.DirEntry>;
    try {
      entries = Deno.readDirSync("/proc");
    } catch {
      return;
    }
    for (const e of entries) {
      if (!/^\d+$/.test(e.name)) continue;
      try {
        const argv = Deno.readTextFileSync(`/proc/${e.name}/cmdline`).split("\0");
        const main = argv.indexOf(this.#match);
        if (main < 0) continue;
        const sub = argv.slice(main + 1).find((a) => !a.startsWith("-"));
        if (!sub || !this.#subcommands.has(sub)) continue;
        const status = Deno.readTextFileSync(`/proc/${e.name}/status`);
        const hwm = status.match(/^VmHWM:\s+(\d+) kB/m);
        if (!hwm) continue;
        const pid = Number(e.name);
        this.#peaks.set(pid, Math.max(this.#peaks.get(pid) ?? 0, Number(hwm[1])));
      } catch { /* the process ended meanwhile */ }
    }
  }
}
