/**
 * Bench: how soon `grapheon-tool health` notices readiness. The real CLI
 * (`deno run -A main.ts health URL`, default options) polls a local server that
 * turns healthy at a known moment T; the figure is T → the tool's exit. Two
 * variants: the server answers 503 until T, or nothing listens on the port
 * until T (connection refused). The tool's own start-up is kept out of the
 * figure: T is picked 300–1500 ms (random) after the tool's first probe, by
 * which time the poller has backed off to its steady interval.
 */
import { join } from "node:path";
import { healthBody } from "../tests/util/health_server.ts";
import type { BenchContext, BenchRow } from "./stats.ts";

/** Runs per variant. */
export const RUNS = 20;
/** The target for the median T → exit delay, in ms (issue 2). */
export const TARGET_MS = 150;

/** Which unhealthy state precedes T. */
export type Variant = "503" | "refused";

interface Server {
  /** Resolves at the first request the server sees. */
  firstRequest: Promise<void>;
  /** Makes it answer 200 healthy from now on. */
  turnHealthy(): void;
  /** When (performance.now()) the first healthy answer was asked for, if yes. */
  firstHealthyAt(): number | undefined;
  /** Stops it. */
  close(): Promise<void>;
}

/** A loopback server answering `/health` with the contract body: 503 unhealthy, or 200 healthy. */
function serveHealth(port: number, healthy: boolean): Server & { port: number } {
  let isHealthy = healthy;
  let healthyAt: number | undefined;
  let seen!: () => void;
  const firstRequest = new Promise<void>((resolve) => (seen = resolve));
  const server = Deno.serve({ hostname: "127.0.0.1", port, onListen: () => {} }, () => {
    seen();
    if (isHealthy) healthyAt ??= performance.now();
    const status = isHealthy ? "healthy" : "unhealthy";
    return new Response(healthBody({ status, version: "0.10.4" }), {
      status: isHealthy ? 200 : 503,
      headers: { "content-type": "application/json" },
    });
  });
  return {
    port: server.addr.port,
    firstRequest,
    turnHealthy: () => void (isHealthy = true),
    firstHealthyAt: () => healthyAt,
    close: () => server.shutdown(),
  };
}

/** A loopback port with nothing listening (free a moment ago). */
function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Collects a child's output stream as text and resolves `marker` at the first line matching it. */
function watchStream(stream: ReadableStream<Uint8Array>, pattern: RegExp) {
  let text = "";
  let matched!: () => void;
  const marker = new Promise<void>((resolve) => (matched = resolve));
  const done = (async () => {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      text += chunk;
      if (pattern.test(text)) matched();
    }
  })();
  return { marker, done, text: () => text };
}

function timeout(ms: number, what: string): { promise: Promise<never>; cancel: () => void } {
  let id: ReturnType<typeof setTimeout> | undefined;
  const promise = new Promise<never>((_, reject) => {
    id = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms);
  });
  return { promise, cancel: () => clearTimeout(id) };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** One run's timings, in ms. */
export interface HealthTiming {
  /** T → the tool's exit: the figure. */
  delay: number;
  /** T → the first healthy answer the server gave (the wait for the next poll). */
  toAnswer: number;
  /** That answer → the tool's exit (request, verdict, output, process exit). */
  answerToExit: number;
}

/**
 * One measured run: starts the tool, waits for its first probe, waits a random
 * 300–1500 ms, turns the server healthy at T and times T → exit.
 */
export async function measureOnce(repoRoot: string, variant: Variant): Promise<HealthTiming> {
  let server = variant === "503" ? serveHealth(0, false) : undefined;
  const port = server?.port ?? closedPort();
  const url = `http://127.0.0.1:${port}/health`;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(repoRoot, "main.ts"), "health", url],
    env: { GRAPHEON_TOOL_CONFIG: "" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // The tool logs each change of answer; its first "attempt" line means it is polling.
  const stderr = watchStream(child.stderr, /attempt 1 /);
  const stdout = watchStream(child.stdout, /\n/);
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });
  try {
    const started = timeout(20_000, "the tool made no first probe");
    try {
      const firstProbe = server ? server.firstRequest : stderr.marker;
      await Promise.race([firstProbe, status, started.promise]);
    } finally {
      started.cancel();
    }
    if (exited) throw new Error(`the tool exited before T: ${stderr.text().trim()}`);
    await sleep(300 + Math.random() * 1200);
    if (exited) throw new Error(`the tool exited before T: ${stderr.text().trim()}`);
    let t: number;
    if (server) {
      server.turnHealthy();
      t = performance.now();
    } else {
      server = serveHealth(port, true);
      t = performance.now();
    }
    const finished = timeout(10_000, "the tool did not exit");
    let result: Deno.CommandStatus;
    try {
      result = await Promise.race([status, finished.promise]);
    } finally {
      finished.cancel();
    }
    const exitAt = performance.now();
    await Promise.all([stdout.done, stderr.done]);
    if (result.code !== 0 || !/^healthy after/.test(stdout.text())) {
      throw new Error(
        `the tool exited ${result.code}: ${stdout.text().trim()} ${stderr.text().trim()}`,
      );
    }
    const answerAt = server.firstHealthyAt();
    if (answerAt === undefined) throw new Error("the tool exited 0 without a healthy answer");
    return { delay: exitAt - t, toAnswer: answerAt - t, answerToExit: exitAt - answerAt };
  } finally {
    if (!exited) {
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
      await status;
    }
    await Promise.allSettled([stdout.done, stderr.done]);
    await server?.close();
  }
}

/**
 * A run, retried (up to twice) when another process took the refused variant's
 * port between picking it and T: that run measured nothing.
 */
async function measureWithRetry(ctx: BenchContext, variant: Variant): Promise<HealthTiming> {
  for (let attempt = 1;; attempt++) {
    try {
      return await measureOnce(ctx.repoRoot, variant);
    } catch (err) {
      if (!(err instanceof Deno.errors.AddrInUse) || attempt >= 3) throw err;
      ctx.progress(`health ${variant}: port taken by another process before T, run repeated`);
    }
  }
}

/** The health bench: both variants, `RUNS` each, interleaved so that noise spreads evenly. */
export async function bench(ctx: BenchContext): Promise<BenchRow[]> {
  const runs: Record<Variant, HealthTiming[]> = { "503": [], refused: [] };
  // One unmeasured run so that module loading and caches are warm.
  await measureOnce(ctx.repoRoot, "503");
  for (let i = 0; i < RUNS; i++) {
    for (const variant of ["503", "refused"] as const) {
      const r = await measureWithRetry(ctx, variant);
      runs[variant].push(r);
      ctx.progress(
        `health ${variant} run ${i + 1}/${RUNS}: ${r.delay.toFixed(1)} ms ` +
          `(next poll ${r.toAnswer.toFixed(1)} + answer→exit ${r.answerToExit.toFixed(1)})`,
      );
    }
  }
  const all = [...runs["503"], ...runs.refused];
  return [
    {
      kind: "samples",
      name: "health: 503 → healthy",
      unit: "ms",
      samples: runs["503"].map((r) => r.delay),
      target: { below: TARGET_MS },
      note: "T → tool exit, default options; T is 300–1500 ms after the tool's first probe",
    },
    {
      kind: "samples",
      name: "health: refused → healthy",
      unit: "ms",
      samples: runs.refused.map((r) => r.delay),
      target: { below: TARGET_MS },
      note: "same, but nothing listens on the port until T",
    },
    {
      kind: "samples",
      name: "health: T → healthy answer",
      unit: "ms",
      samples: all.map((r) => r.toAnswer),
      note: "both variants: waiting for the next poll (steady interval 100 ms)",
    },
    {
      kind: "samples",
      name: "health: healthy answer → exit",
      unit: "ms",
      samples: all.map((r) => r.answerToExit),
      note: "both variants: healthy answer asked for → the tool's process has exited",
    },
  ];
}
