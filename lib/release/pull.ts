/**
 * Steps 2–3: pulling a release image with a per-attempt timeout and retries with
 * exponential backoff, progress streamed to the log.
 */
import { errorMessage, ms, ToolError } from "../core/mod.ts";
import type { Host } from "../host/mod.ts";

/** Options for `pullImage`. */
export interface PullImageOptions {
  /** Full reference, `image:vX.Y.Z`. */
  ref: string;
  /** Aborts between and during attempts. */
  signal?: AbortSignal;
  /** First backoff pause (doubles each retry); default 2 s. */
  backoffMs?: number;
}

/** Pulls `ref`, retrying; returns the image ID or throws a ToolError with the last reason. */
export async function pullImage(host: Host, options: PullImageOptions): Promise<string> {
  const retries = host.config.timeouts.pullRetries;
  const timeoutMs = ms(host.config.timeouts.pull);
  let pause = options.backoffMs ?? 2000;
  let lastError = "";
  for (let attempt = 1; attempt <= retries + 1; attempt++) {
    if (options.signal?.aborted) break;
    try {
      host.log.info(`pulling ${options.ref} (attempt ${attempt} of ${retries + 1})`);
      let lastProgress = 0;
      const id = await host.podman.pull(options.ref, {
        timeoutMs,
        signal: options.signal,
        onProgress: (line) => {
          const now = host.clock.monotonic();
          if (now - lastProgress > 2000) { // one line every 2 s, not one per layer chunk
            lastProgress = now;
            host.log.info(`pull ${options.ref}: ${line}`);
          }
        },
      });
      host.log.info(`pulled ${options.ref} (image ${id.slice(0, 12)})`);
      return id;
    } catch (err) {
      lastError = errorMessage(err);
      host.log.warn(`pull of ${options.ref} failed: ${lastError}`);
      if (attempt <= retries && !options.signal?.aborted) {
        await host.clock.sleep(pause, options.signal).catch(() => {});
        pause *= 2;
      }
    }
  }
  throw new ToolError(`could not pull ${options.ref}: ${lastError || "interrupted"}`);
}
