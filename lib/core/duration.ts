/** Parsing of human durations used by flags and the config (`100ms`, `5s`, `2m`, `1h`). */
import { z } from "zod";

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses `"1.5s"`, `"200ms"`, `"2m"`, or a bare number of seconds into milliseconds; null if invalid. */
export function parseDuration(text: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(text);
  if (!m) return null;
  const ms = Number(m[1]) * UNITS[m[2] ?? "s"];
  return Number.isFinite(ms) ? Math.round(ms) : null;
}

/** Milliseconds of a duration already validated by `durationSchema`. */
export function ms(text: string): number {
  const value = parseDuration(text);
  if (value === null) throw new TypeError(`not a duration: ${text}`);
  return value;
}

/** Formats milliseconds for humans: `850ms`, `12.3s`, `4m05s`. */
export function formatDuration(milliseconds: number): string {
  if (milliseconds < 1000) return `${Math.round(milliseconds)}ms`;
  if (milliseconds < 60_000) return `${(milliseconds / 1000).toFixed(1)}s`;
  const s = Math.round(milliseconds / 1000);
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
}

/** A zod schema for a duration string in config files (kept as text; read it with `ms`). */
export const durationSchema = z.string().refine((text) => parseDuration(text) !== null, {
  message: `expected a duration such as "30s", "500ms" or "2m"`,
});
