/**
 * Background processes the lab starts (systemd-nspawn, the registry, the
 * prober): spawned from an argv array, their output appended to a log file,
 * and ended by their own PID (SIGTERM, then SIGKILL after a grace period) so
 * that nothing the lab started outlives it, pass or fail.
 */

/** A process started in the background whose output goes to a log file. */
export class BackgroundProcess {
  /** What is running (for messages). */
  readonly label: string;
  /** Its PID. */
  readonly pid: number;
  /** Where its stdout and stderr go. */
  readonly logPath: string;
  readonly #child: Deno.ChildProcess;
  readonly #pumps: Promise<void>;
  #status: Deno.CommandStatus | null = null;
  readonly #done: Promise<Deno.CommandStatus>;

  private constructor(
    label: string,
    child: Deno.ChildProcess,
    logPath: string,
    pumps: Promise<void>,
  ) {
    this.label = label;
    this.pid = child.pid;
    this.logPath = logPath;
    this.#child = child;
    this.#pumps = pumps;
    this.#done = child.status.then((s) => (this.#status = s));
  }

  /** Starts `argv` with stdin closed and its output appended to `logPath`. */
  static async start(
    label: string,
    argv: readonly string[],
    options: { logPath: string; env?: Record<string, string>; cwd?: string },
  ): Promise<BackgroundProcess> {
    const log = await Deno.open(options.logPath, { create: true, append: true });
    const child = new Deno.Command(argv[0], {
      args: argv.slice(1),
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env: options.env,
      cwd: options.cwd,
    }).spawn();
    const writer = log.writable.getWriter();
    const pump = async (stream: ReadableStream<Uint8Array>) => {
      for await (const chunk of stream) await writer.write(chunk).catch(() => {});
    };
    const pumps = Promise.all([pump(child.stdout), pump(child.stderr)])
      .then(() => writer.close().catch(() => {}));
    return new BackgroundProcess(label, child, options.logPath, pumps);
  }

  /** The exit status once it has ended, else null. */
  get status(): Deno.CommandStatus | null {
    return this.#status;
  }

  /** Resolves when the process ends. */
  wait(): Promise<Deno.CommandStatus> {
    return this.#done;
  }

  /**
   * Ends the process: `signal` (SIGTERM by default), then SIGKILL after
   * `graceMs`. Safe to call twice; returns once the process is gone and its
   * log is flushed.
   */
  async stop(options: { signal?: Deno.Signal; graceMs?: number } = {}): Promise<void> {
    if (this.#status === null) {
      try {
        this.#child.kill(options.signal ?? "SIGTERM");
      } catch { /* already gone */ }
      const timer = new Promise<"late">((r) => {
        const id = setTimeout(() => r("late"), options.graceMs ?? 10_000);
        this.#done.finally(() => clearTimeout(id));
      });
      if (await Promise.race([this.#done.then(() => "done" as const), timer]) === "late") {
        try {
          this.#child.kill("SIGKILL");
        } catch { /* already gone */ }
        await this.#done;
      }
    }
    await this.#pumps;
  }

  /** The last `lines` lines of its log (for failure messages). */
  async logTail(lines = 20): Promise<string> {
    const text = await Deno.readTextFile(this.logPath).catch(() => "");
    return text.split("\n").slice(-lines).join("\n");
  }
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Thrown by a `waitFor` probe to end the wait at once (the awaited thing can no longer happen). */
export class StopWaiting extends Error {}

/**
 * Polls `probe` every `intervalMs` until it returns a value other than
 * undefined, or throws `what` timed out after `timeoutMs` (with the last error).
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  options: { timeoutMs: number; intervalMs?: number },
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  let last = "";
  while (true) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      if (err instanceof StopWaiting) throw err;
      last = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${options.timeoutMs} ms waiting for ${what}${last ? `: ${last}` : ""}`,
      );
    }
    await sleep(options.intervalMs ?? 100);
  }
}
