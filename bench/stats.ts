/**
 * The bench interface and its arithmetic: what a bench module returns (rows of
 * samples, derived figures, or "not run" with a reason), how samples are
 * summarised (median, p10/p90, min/max), how a row is judged against its
 * target, and how the table is printed. Machines are noisy, so every figure is
 * a median or a ratio of medians; the verdict only compares the median with the
 * target and never fails anything by itself.
 */

/** A target for a row's median: `below` in the row's unit (the figure must be under it). */
export interface Target {
  /** The median must be strictly below this. */
  below: number;
}

interface RowBase {
  /** Short name, `module: what` (for example `health: 503 → healthy`). */
  name: string;
  /** What the median is judged against, if anything. */
  target?: Target;
  /** One short line of context printed under the table (method, caveat). */
  note?: string;
}

/** A figure measured n times. */
export interface SampledRow extends RowBase {
  /** Discriminant. */
  kind: "samples";
  /** Unit of the samples: milliseconds, megabytes (peak memory), or a count (failed requests). */
  unit: "ms" | "MB" | "count";
  /** Every measurement, in the order taken. */
  samples: number[];
}

/** A figure computed from other rows (a ratio or a difference of medians). */
export interface DerivedRow extends RowBase {
  /** Discriminant. */
  kind: "derived";
  /** Unit of the value: milliseconds or a ratio (×). */
  unit: "ms" | "x";
  /** The figure. */
  value: number;
  /** How many runs it rests on (the smaller input's n). */
  n: number;
}

/** A figure that was not measured, with the reason (needs root, no lab host, …). */
export interface NotRunRow extends RowBase {
  /** Discriminant. */
  kind: "not_run";
  /** Why, in words. */
  reason: string;
}

/** One line of the bench table. */
export type BenchRow = SampledRow | DerivedRow | NotRunRow;

/** What the runner hands to a bench module. */
export interface BenchContext {
  /** The repository root (where main.ts is). */
  repoRoot: string;
  /** Progress line on stderr (never on stdout, which carries the table or JSON). */
  progress: (line: string) => void;
}

/** What a bench module (bench/<name>.ts) exports. */
export type BenchFn = (ctx: BenchContext) => Promise<BenchRow[]>;

/** The summary of a set of samples. */
export interface Summary {
  /** Number of samples. */
  n: number;
  /** Median. */
  median: number;
  /** 10th percentile. */
  p10: number;
  /** 90th percentile. */
  p90: number;
  /** Smallest. */
  min: number;
  /** Largest. */
  max: number;
}

/** Quantile q (0–1) by linear interpolation between order statistics (R type 7). */
export function quantile(samples: number[], q: number): number {
  if (samples.length === 0) throw new RangeError("quantile of no samples");
  if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile ${q} outside 0–1`);
  const sorted = [...samples].sort((a, b) => a - b);
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/** The median (the mean of the two middle samples when n is even). */
export function median(samples: number[]): number {
  return quantile(samples, 0.5);
}

/** Median, p10, p90, min and max of the samples. */
export function summarize(samples: number[]): Summary {
  return {
    n: samples.length,
    median: median(samples),
    p10: quantile(samples, 0.1),
    p90: quantile(samples, 0.9),
    min: Math.min(...samples),
    max: Math.max(...samples),
  };
}

/** How a row compares with its target. */
export type Verdict = "ok" | "over" | "no target" | "not run";

/** The row's central figure: the median of its samples, or its derived value. */
export function centralValue(row: BenchRow): number | undefined {
  if (row.kind === "samples") return row.samples.length ? median(row.samples) : undefined;
  if (row.kind === "derived") return row.value;
  return undefined;
}

/** Judges the row's median (or value) against its target. */
export function verdictOf(row: BenchRow): Verdict {
  if (row.kind === "not_run") return "not run";
  const value = centralValue(row);
  if (!row.target || value === undefined) return "no target";
  return value < row.target.below ? "ok" : "over";
}

function unitOf(row: BenchRow): "ms" | "x" | "MB" | "count" {
  return row.kind === "not_run" ? "ms" : row.unit;
}

/** Formats a figure in a unit: `87 ms`, `1.6 ms`, `2.41x`, `61.2 MB`, `0`. */
export function formatValue(value: number, unit: "ms" | "x" | "MB" | "count"): string {
  if (unit === "x") return `${value.toFixed(2)}x`;
  if (unit === "count") return String(Math.round(value * 10) / 10);
  if (unit === "MB") return `${value.toFixed(1)} MB`;
  return `${Math.abs(value) < 10 ? value.toFixed(1) : Math.round(value)} ms`;
}

/** A row as plain data for `--json` (summary included, samples rounded to 0.1 ms). */
export function rowToJson(row: BenchRow): Record<string, unknown> {
  const base = {
    name: row.name,
    target_below: row.target?.below ?? null,
    verdict: verdictOf(row),
    note: row.note ?? null,
  };
  if (row.kind === "not_run") return { ...base, kind: row.kind, reason: row.reason };
  if (row.kind === "derived") {
    const value = Math.round(row.value * 1000) / 1000;
    return { ...base, kind: row.kind, unit: row.unit, value, n: row.n };
  }
  const round = (x: number) => Math.round(x * 10) / 10;
  const s = row.samples.length ? summarize(row.samples) : undefined;
  return {
    ...base,
    kind: row.kind,
    unit: row.unit,
    n: row.samples.length,
    median: s ? round(s.median) : null,
    p10: s ? round(s.p10) : null,
    p90: s ? round(s.p90) : null,
    min: s ? round(s.min) : null,
    max: s ? round(s.max) : null,
    samples: row.samples.map(round),
  };
}

const HEADER = ["name", "median", "p10", "p90", "min", "max", "n", "target", "verdict"];

function cells(row: BenchRow): string[] {
  const unit = unitOf(row);
  const target = row.target ? `< ${formatValue(row.target.below, unit)}` : "-";
  if (row.kind === "not_run") {
    return [row.name, "-", "-", "-", "-", "-", "0", target, `NOT RUN: ${row.reason}`];
  }
  const verdict = verdictOf(row);
  const shown = verdict === "over" ? "OVER" : verdict === "no target" ? "-" : verdict;
  if (row.kind === "derived") {
    return [
      row.name,
      formatValue(row.value, unit),
      "-",
      "-",
      "-",
      "-",
      String(row.n),
      target,
      shown,
    ];
  }
  if (!row.samples.length) return [row.name, "-", "-", "-", "-", "-", "0", target, "no samples"];
  const s = summarize(row.samples);
  const f = (x: number) => formatValue(x, unit);
  return [
    row.name,
    f(s.median),
    f(s.p10),
    f(s.p90),
    f(s.min),
    f(s.max),
    String(s.n),
    target,
    shown,
  ];
}

/** The table: one line per row, numbers right-aligned, then the rows' notes. */
export function formatTable(rows: BenchRow[]): string {
  const table = [HEADER, ...rows.map(cells)];
  const widths = HEADER.map((_, i) => Math.max(...table.map((r) => r[i].length)));
  const numeric = (i: number) => i >= 1 && i <= 6;
  const line = (r: string[]) =>
    r.map((c, i) => (numeric(i) ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join("  ").trimEnd();
  const out = [
    line(table[0]),
    widths.map((w) => "-".repeat(w)).join("  "),
    ...table.slice(1).map(line),
  ];
  const notes = rows.filter((r) => r.note).map((r) => `  ${r.name}: ${r.note}`);
  if (notes.length) out.push("", "Notes:", ...notes);
  return out.join("\n");
}
