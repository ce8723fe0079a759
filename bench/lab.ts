/**
 * Lab figures: a real systemd host with Podman and the lab registry
 * (tests/lab/), the tool installed by its installer, upgrades requested the
 * way the app requests them. A prober outside the host hits the backend's
 * health every 50 ms; from its record: the app's downtime during a good
 * upgrade, the downtime a bad release causes (with the canary, and without it,
 * when the tool must roll back), the time from the request written to status
 * `completed`, and the tool's peak memory (VmHWM of its process). Issue 13's
 * fail-fast figures, each over several runs: for a release that exits at start and
 * one that answers 503 without the canary, the outage and swap → terminal status;
 * with the canary, canary start → refused. Needs root and Linux; elsewhere every
 * row is NOT RUN with the reason.
 */
import { join } from "node:path";
import type { BenchContext, BenchRow } from "./stats.ts";
import { BAD_VERSIONS, GOOD_VERSIONS } from "../tests/lab/images.ts";
import { Lab } from "../tests/lab/lab.ts";
import { ToolMemorySampler } from "../tests/lab/memory.ts";
import { labUnavailableReason } from "../tests/lab/preflight.ts";
import { downtime, parseProbes, type Probe, startProber } from "../tests/lab/prober.ts";
import { sleep } from "../tests/lab/procs.ts";
import {
  currentJobId,
  HEALTH_URL,
  installTool,
  requestUpgradeViaApp,
  tool,
  waitForOutcome,
  writeToolConfig,
} from "../tests/lab/tool.ts";

const ROWS = [
  "lab: good upgrade, app downtime",
  "lab: good upgrade, request → completed",
  "lab: bad release, downtime (canary)",
  "lab: bad release, downtime (no canary: rollback)",
  "lab: tool peak memory (upgrade)",
  "lab: exits at start, no canary: outage",
  "lab: exits at start, no canary: swap → terminal status",
  "lab: answers 503, no canary: outage",
  "lab: answers 503, no canary: swap → terminal status",
  "lab: answers 503, canary: canary start → refused",
  "lab: good upgrade, failed requests on :8000 (5 s patience)",
  "lab: good upgrade, failed requests via :8080/api (5 s patience)",
  "lab: rollback by hand, failed requests on both (5 s patience)",
  "lab: latency of requests during a swap (5 s patience)",
  "lab: good upgrade, canary off: request → completed",
  "lab: upgrade --json, canary off: total",
  "lab: upgrade --json, canary on: total",
];
/** Runs of each fail-fast case. */
const BAD_RUNS = 3;
/** Keeps requests apart as a person would (the `.path` unit allows thirty runs a minute). */
const MIN_JOB_SPACING_MS = 7000;
const GOOD_RUNS = 5;
const PROBE_MS = 50;
/** Issue 16's client: as patient as a person (5 s), one request at a time. */
const PATIENT_MS = 5000;
/** The user's path: the frontend's nginx relays /api/ to the backend. */
const API_URL = "http://127.0.0.1:8080/api/health";
/** After a job ends, keep probing this long so that a late outage is counted. */
const SETTLE_MS = 1500;

interface Job {
  requestedAt: number;
  endedAt: number;
  status: Record<string, unknown>;
  peakMb: number | null;
  /** When the tool logged the backend's restart (the swap), if it did. */
  swapAt: number | null;
  /** When the tool logged the canary's start, if it did. */
  canaryAt: number | null;
}

let lastRequestAt = 0;

/** The unix time (ms) of the first line of the upgrade service's journal since `sinceMs` matching `pattern`. */
async function journalEvent(lab: Lab, sinceMs: number, pattern: RegExp): Promise<number | null> {
  const r = await lab.exec([
    "journalctl",
    "--no-pager",
    "-o",
    "short-unix",
    "-u",
    "grapheon-upgrade.service",
    `--since=@${Math.floor(sinceMs / 1000)}`,
  ], { check: false });
  for (const line of r.stdout.split("\n")) {
    const m = /^(\d+\.\d+)\s/.exec(line);
    if (m && pattern.test(line) && Number(m[1]) * 1000 >= sinceMs - 1) {
      return Math.round(Number(m[1]) * 1000);
    }
  }
  return null;
}

async function runJob(lab: Lab, version: string, memory: ToolMemorySampler): Promise<Job> {
  const wait = lastRequestAt + MIN_JOB_SPACING_MS - Date.now();
  if (wait > 0) await sleep(wait);
  const before = await currentJobId(lab);
  memory.takePeakMb();
  const requestedAt = Date.now();
  lastRequestAt = requestedAt;
  await requestUpgradeViaApp(lab, version);
  const status = await waitForOutcome(lab, { toVersion: version, afterJobId: before });
  const endedAt = Date.parse(String(status.updated_at));
  await sleep(SETTLE_MS);
  const swapAt = await journalEvent(lab, requestedAt, /restarting grapheon-backend\.service/);
  const canaryAt = await journalEvent(lab, requestedAt, /canary: starting/);
  return { requestedAt, endedAt, status, peakMb: memory.takePeakMb(), swapAt, canaryAt };
}

/** The lab bench (see the module doc). */
export async function bench(ctx: BenchContext): Promise<BenchRow[]> {
  const reason = labUnavailableReason();
  if (reason) return ROWS.map((name) => ({ kind: "not_run", name, reason }));
  const lab = await Lab.boot({ name: "grapheon-lab-bench", log: ctx.progress });
  const memory = new ToolMemorySampler();
  try {
    await installTool(lab);
    const out = join(lab.runDir, "probes.jsonl");
    const prober = await startProber(lab, {
      label: "prober",
      url: HEALTH_URL,
      out,
      intervalMs: PROBE_MS,
    });
    const patient = {
      backend: join(lab.runDir, "patient-backend.jsonl"),
      api: join(lab.runDir, "patient-api.jsonl"),
    };
    const patientProbers = [];
    for (const [label, url] of [["backend", HEALTH_URL], ["api", API_URL]] as const) {
      patientProbers.push(
        await startProber(lab, {
          label: `prober-patient-${label}`,
          url,
          out: patient[label],
          intervalMs: PROBE_MS,
          timeoutMs: PATIENT_MS,
        }),
      );
    }
    memory.start();
    await sleep(1000);
    const good: Job[] = [];
    for (const version of GOOD_VERSIONS.slice(0, GOOD_RUNS)) {
      const job = await runJob(lab, version, memory);
      if (job.status.status !== "completed") {
        throw new Error(`upgrade to ${version} ended ${job.status.status}: ${job.status.message}`);
      }
      ctx.progress(`good upgrade to ${version}: ${job.endedAt - job.requestedAt} ms`);
      good.push(job);
    }
    // Issue 16: an operator's rollback (to the release before the last upgrade), measured too.
    const rollbackFrom = Date.now();
    const rolledBack = await tool(lab, ["rollback", "--yes", "--json"]);
    if (rolledBack.code !== 0) throw new Error(`rollback by hand exited ${rolledBack.code}`);
    const rollbackWindow = { from: rollbackFrom, to: Date.now() + SETTLE_MS };
    await sleep(SETTLE_MS);
    const bad = Object.values(BAD_VERSIONS);
    const badCanary: Job[] = [];
    for (const version of bad) badCanary.push(await runJob(lab, version, memory));
    await writeToolConfig(lab, { canary: { enabled: false } });
    const badRollback: Job[] = [];
    for (const version of bad) {
      const job = await runJob(lab, version, memory);
      if (job.status.rolled_back !== true) {
        throw new Error(
          `bad release ${version} without canary was not rolled back: ${job.status.message}`,
        );
      }
      badRollback.push(job);
    }
    // Issue 16: good upgrades with the canary off (only the swap), request → completed.
    const goodNoCanary: Job[] = [];
    for (const version of GOOD_VERSIONS.slice(GOOD_RUNS, GOOD_RUNS + 3)) {
      goodNoCanary.push(await runJob(lab, version, memory));
    }
    const direct = async (version: string) => {
      const r = await tool(lab, ["upgrade", "--version", version, "--json"]);
      const doc = JSON.parse(r.stdout) as {
        result: string;
        duration_ms: number;
        phases_ms: Record<string, number>;
      };
      if (doc.result !== "completed") throw new Error(`upgrade --version ${version}: ${r.stdout}`);
      ctx.progress(
        `upgrade --json to ${version}: ${doc.duration_ms} ms, phases ${
          JSON.stringify(doc.phases_ms)
        }`,
      );
      return doc;
    };
    const directOff = await direct(GOOD_VERSIONS[GOOD_RUNS + 3]);
    // Issue 13: several runs of each fail-fast case (the canary is still off here).
    const crashNoCanary: Job[] = [];
    const unhealthyNoCanary: Job[] = [];
    for (let i = 0; i < BAD_RUNS; i++) {
      crashNoCanary.push(await runJob(lab, BAD_VERSIONS.needsJwt, memory));
      unhealthyNoCanary.push(await runJob(lab, BAD_VERSIONS.unhealthy, memory));
    }
    for (const j of [...crashNoCanary, ...unhealthyNoCanary]) {
      if (j.status.rolled_back !== true) {
        throw new Error(`a bad release was not rolled back: ${j.status.message}`);
      }
    }
    await writeToolConfig(lab, {});
    const directOn = await direct(GOOD_VERSIONS[GOOD_RUNS + 4]);
    const unhealthyCanary: Job[] = [];
    for (let i = 0; i < BAD_RUNS; i++) {
      const j = await runJob(lab, BAD_VERSIONS.unhealthy, memory);
      if (j.status.status !== "failed" || j.status.rolled_back !== false) {
        throw new Error(`the canary did not refuse ${BAD_VERSIONS.unhealthy}: ${j.status.message}`);
      }
      unhealthyCanary.push(j);
    }
    memory.stop();
    await prober.stop();
    for (const p of patientProbers) await p.stop();
    const probes = parseProbes(await Deno.readTextFile(out));
    const patientProbes = {
      backend: parseProbes(await Deno.readTextFile(patient.backend)),
      api: parseProbes(await Deno.readTextFile(patient.api)),
    };
    const inWindow = (list: Probe[], w: { from: number; to: number }) =>
      list.filter((p) => p.t >= w.from && p.t <= w.to);
    const jobWindow = (j: Job) => ({ from: j.requestedAt, to: j.endedAt + SETTLE_MS });
    const failedIn = (list: Probe[], w: { from: number; to: number }) =>
      inWindow(list, w).filter((p) => !p.ok).length;
    // The swap: from the tool's restart line to the job's end, where a request can meet it.
    const swapProbes = [...good, ...goodNoCanary].flatMap((j) =>
      j.swapAt === null
        ? []
        : [...patientProbes.backend, ...patientProbes.api].filter((p) =>
          p.t >= j.swapAt! && p.t <= j.endedAt && p.ok
        )
    );
    const sorted = swapProbes.map((p) => p.ms).sort((a, b) => a - b);
    const p99 = sorted[Math.min(sorted.length - 1, Math.floor(0.99 * sorted.length))] ?? 0;
    const phases = (doc: { phases_ms: Record<string, number> }) =>
      Object.entries(doc.phases_ms).map(([k, v]) => `${k} ${v}`).join(", ");
    const down = (jobs: Job[]) =>
      jobs.map((j) => downtime(probes, j.requestedAt, j.endedAt + SETTLE_MS));
    for (const [label, jobs] of [["canary", badCanary], ["no canary", badRollback]] as const) {
      down(jobs).forEach((ms, i) =>
        ctx.progress(`bad release ${bad[i]} (${label}): down ${ms} ms`)
      );
    }
    const since = (jobs: Job[], from: (j: Job) => number | null) =>
      jobs.map((j) => {
        const at = from(j);
        if (at === null) throw new Error(`no journal line for the job of ${j.requestedAt}`);
        return j.endedAt - at;
      });
    const peaks = [...good, ...badCanary, ...badRollback].map((j) => j.peakMb)
      .filter((m): m is number => m !== null);
    const notes = `prober every ${PROBE_MS} ms from outside the host (${probes.length} probes); ` +
      "downtime: first failed probe → next healthy one";
    return [
      { kind: "samples", unit: "ms", name: ROWS[0], samples: down(good), note: notes },
      {
        kind: "samples",
        unit: "ms",
        name: ROWS[1],
        samples: good.map((j) => j.endedAt - j.requestedAt),
        note: "app request written → upgrade-status.json completed (its updated_at)",
      },
      {
        kind: "samples",
        unit: "ms",
        name: ROWS[2],
        samples: down(badCanary),
        note: `releases ${bad.join(", ")}: exits without JWT_SECRET, 503, wrong version`,
      },
      {
        kind: "samples",
        unit: "ms",
        name: ROWS[3],
        samples: down(badRollback),
        note: `same releases, in that order; the wrong-version one answers "healthy" while it runs`,
      },
      {
        kind: "samples",
        unit: "MB",
        name: ROWS[4],
        samples: peaks,
        note: "VmHWM of the tool's process (deno running main.ts) per job",
      },
      {
        kind: "samples",
        unit: "ms",
        name: ROWS[5],
        samples: down(crashNoCanary),
        target: { below: 5001 },
        note:
          `release ${BAD_VERSIONS.needsJwt} (exits: no JWT_SECRET), canary off, shipped deadlines`,
      },
      {
        kind: "samples",
        unit: "ms",
        name: ROWS[6],
        samples: since(crashNoCanary, (j) => j.swapAt),
        target: { below: 15001 },
        note: "the tool's 'restarting grapheon-backend.service' journal line → status updated_at",
      },
      {
        kind: "samples",
        unit: "ms",
        name: ROWS[7],
        samples: down(unhealthyNoCanary),
        target: { below: 5001 },
        note: `release ${BAD_VERSIONS.unhealthy} (503 unhealthy), canary off`,
      },
      {
        kind: "samples",
        unit: "ms",
        name: ROWS[8],
        samples: since(unhealthyNoCanary, (j) => j.swapAt),
        target: { below: 15001 },
        note: "as above",
      },
      {
        kind: "samples",
        unit: "ms",
        name: ROWS[9],
        samples: since(unhealthyCanary, (j) => j.canaryAt),
        target: { below: 15001 },
        note: "the tool's 'canary: starting' journal line → status updated_at (refused)",
      },
      {
        kind: "samples",
        unit: "count",
        name: ROWS[10],
        samples: [...good, ...goodNoCanary].map((j) =>
          failedIn(patientProbes.backend, jobWindow(j))
        ),
        target: { below: 1 },
        note:
          `per good upgrade (canary on and off), a client every ${PROBE_MS} ms, ${PATIENT_MS} ms patience`,
      },
      {
        kind: "samples",
        unit: "count",
        name: ROWS[11],
        samples: [...good, ...goodNoCanary].map((j) => failedIn(patientProbes.api, jobWindow(j))),
        target: { below: 1 },
        note: "the user's path: the frontend's nginx (lab fake) relays /api/ to the backend",
      },
      {
        kind: "samples",
        unit: "count",
        name: ROWS[12],
        samples: [
          failedIn(patientProbes.backend, rollbackWindow),
          failedIn(patientProbes.api, rollbackWindow),
        ],
        target: { below: 1 },
        note: "grapheon-tool rollback --yes; samples: :8000, then :8080/api",
      },
      {
        kind: "samples",
        unit: "ms",
        name: ROWS[13],
        samples: sorted,
        note:
          `successful requests from the tool's restart line to the job's end, both paths; p99 ${p99} ms`,
      },
      {
        kind: "samples",
        unit: "ms",
        name: ROWS[14],
        samples: goodNoCanary.map((j) => j.endedAt - j.requestedAt),
        target: { below: 5001 },
        note: "app request written → status completed, canary off (images in the registry)",
      },
      {
        kind: "samples",
        unit: "ms",
        name: ROWS[15],
        samples: [directOff.duration_ms],
        note: `the tool's own run, no .path trigger; phases (ms): ${phases(directOff)}`,
      },
      {
        kind: "samples",
        unit: "ms",
        name: ROWS[16],
        samples: [directOn.duration_ms],
        note: `phases (ms): ${phases(directOn)}`,
      },
    ];
  } finally {
    memory.stop();
    await lab.teardown();
  }
}
