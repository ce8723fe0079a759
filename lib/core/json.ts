/**
 * Outside JSON, parsed once, bounded and validated: every reader of a file or
 * an answer another program wrote goes through `parseJson`, so that a bad one
 * gets the same one-line error (source, field, zod's own message) and a
 * pathological one (nested thousands deep) is refused before anything recurses
 * over it.
 */
import type { z } from "zod";

/** How deep outside JSON may nest (the tool's own documents nest under 10). */
export const MAX_JSON_DEPTH = 64;

/** The result of `parseJson`. */
export type JsonResult<T> = { ok: true; value: T } | { ok: false; error: string };

/** One line for a zod error: `field a.b: message` (or `unknown key …`), issues joined by `; `. */
export function describeIssues(error: z.ZodError): string {
  return error.issues.map((issue) => {
    const field = issue.path.length ? issue.path.join(".") : "(top level)";
    if (issue.code === "unrecognized_keys") {
      const where = issue.path.length ? `${field}.` : "";
      return `unknown key ${issue.keys.map((k) => where + k).join(", ")}`;
    }
    return `field ${field}: ${issue.message}`;
  }).join("; ");
}

/** The deepest nesting of arrays and objects in JSON text (strings skipped), without parsing it. */
export function jsonDepth(text: string): number {
  let depth = 0, max = 0, inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 || c === 91) max = Math.max(max, ++depth);
    else if (c === 125 || c === 93) depth--;
  }
  return max;
}

/** Parses `text` as JSON and validates it; the error names `source` and the field. Never throws. */
export function parseJson<S extends z.ZodType>(
  schema: S,
  text: string,
  source: string,
  options: { maxDepth?: number } = {},
): JsonResult<z.output<S>> {
  const maxDepth = options.maxDepth ?? MAX_JSON_DEPTH;
  if (jsonDepth(text) > maxDepth) {
    return { ok: false, error: `${source}: nests deeper than ${maxDepth} levels` };
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    const why = err instanceof Error ? err.message.split("\n")[0] : String(err);
    return { ok: false, error: `${source}: not valid JSON (${why})` };
  }
  const parsed = schema.safeParse(raw);
  return parsed.success
    ? { ok: true, value: parsed.data }
    : { ok: false, error: `${source}: ${describeIssues(parsed.error)}` };
}
