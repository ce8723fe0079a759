/**
 * The prober: hits the backend's health URL every INTERVAL ms from outside the
 * host (a build-machine process that only shares the host's network
 * namespace) and appends one JSON line per probe to OUT:
 * `{"t": <start, epoch ms>, "ms": <duration>, "ok": <200 and healthy/degraded>, "version": …}`.
 * One request at a time, each given TIMEOUT_MS (default 1000) of patience. Runs until
 * SIGTERM. Also the pure arithmetic on those lines (`downtime`).
 *
 *   deno run -A tests/lab/prober.ts URL INTERVAL_MS OUT [TIMEOUT_MS]
 */
import type { Lab } from "./lab.ts";
import type { BackgroundProcess } from "./procs.ts";

/** One probe. */
export interface Probe {
  /** Start, epoch milliseconds. */
  t: number;
  /** How long it took. */
  ms: number;
  /** HTTP 200 with status healthy or degraded. */
  ok: boolean;
  /** The version the body reported, if any. */
  version: string | null;
  /** Why it failed: `HTTP 502`, `TimeoutError`, the fetch error's message. */
  error?: string;
}

/** Parses the prober's output file. */
export function parseProbes(text: string): Probe[] {
  return text.split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l) as Probe);
}

/**
 * The time the backend did not answer healthy within [from, to]: for each run
 * of failed probes, from the first failed probe's start to the start of the
 * next good one (or `to` when none came). Resolution: the probe interval.
 */
export function downtime(probes: readonly Probe[], from: number, to: number): number {
  const window = probes.filter((p) => p.t >= from && p.t <= to).sort((a, b) => a.t - b.t);
  let total = 0;
  let downSince: number | null = null;
  for (const p of window) {
    if (!p.ok && downSince === null) downSince = p.t;
    if (p.ok && downSince !== null) {
      total += p.t - downSince;
      downSince = null;
    }
  }
  if (downSince !== null) total += to - downSince;
  return total;
}

/** What `startProber` needs. */
export interface ProberOptions {
  /** The process's label (its log file's name). */
  label: string;
  /** The URL probed. */
  url: string;
  /** Where the probes go, one JSON line each. */
  out: string;
  /** Between probe starts. */
  intervalMs: number;
  /** Each probe's patience (default 1000). */
  timeoutMs?: number;
}

/** Starts this prober in the lab host's network namespace, outside the host itself. */
export function startProber(lab: Lab, options: ProberOptions): Promise<BackgroundProcess> {
  return lab.spawnInNetns(options.label, [
    Deno.execPath(),
    "run",
    "-A",
    import.meta.filename!,
    options.url,
    String(options.intervalMs),
    options.out,
    String(options.timeoutMs ?? 1000),
  ]);
}

async function probe(url: string, timeoutMs: number): Promise<Omit<Probe, "t" | "ms">> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    const text = await res.text();
    let body: { status?: unknown; version?: unknown } = {};
    try {
      body = JSON.parse(text);
    } catch { /* not JSON: not healthy */ }
    const ok = res.status === 200 && (body.status === "healthy" || body.status === "degraded");
    const version = typeof body.version === "string" ? body.version : null;
    return ok ? { ok, version } : { ok, version, error: `HTTP ${res.status} ${body.status ?? ""}` };
  } catch (err) {
    const e = err as Error;
    return { ok: false, version: null, error: `${e.name}: ${e.message}`.slice(0, 200) };
  }
}

if (import.meta.main) {
  const [url, intervalText, out, timeoutText = "1000"] = Deno.args;
  const interval = Number(intervalText);
  const timeoutMs = Number(timeoutText);
  if (!url || !out || !(interval > 0) || !(timeoutMs > 0)) {
    console.error("usage: prober.ts URL INTERVAL_MS OUT [TIMEOUT_MS]");
    Deno.exit(2);
  }
  const file = await Deno.open(out, { create: true, append: true });
  const enc = new TextEncoder();
  let stop = false;
  Deno.addSignalListener("SIGTERM", () => (stop = true));
  let next = Date.now();
  while (!stop) {
    const t = Date.now();
    const result = await probe(url, timeoutMs);
    const line = JSON.stringify({ t, ms: Date.now() - t, ...result }) + "\n";
    await file.write(enc.encode(line));
    next += interval;
    const wait = next - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    else next = Date.now();
  }
  file.close();
  Deno.exit(0);
}
