/**
 * Limits for text and JSON that others wrote (the container-writable status file,
 * health bodies, container logs) before root stores or prints it. Invariant: what
 * leaves `forTerminal` has no control character, escape sequence or bidi override,
 * and is at most the given length; `depthExceeds` never recurses, so no nesting can
 * exhaust the stack.
 */

/** ESC-introduced sequences: CSI (`ESC [ … final`), OSC (`ESC ] … BEL|ST`), and two-char escapes. */
// deno-lint-ignore no-control-regex -- matching control characters is the point here
const ESCAPES = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]/g;
/** C0 and C1 controls, DEL, and the bidirectional overrides/isolates (Trojan Source). */
// deno-lint-ignore no-control-regex -- as above
const CONTROLS = /[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** Text safe for one terminal line: escapes dropped, controls shown as `?`, cut at `maxChars`. */
export function forTerminal(text: string, maxChars = 2000): string {
  const clean = text.replace(ESCAPES, "").replace(/\r?\n|\t/g, " ").replace(CONTROLS, "?");
  return clean.length > maxChars ? `${clean.slice(0, maxChars)}…` : clean;
}

/** A multi-line block made safe line by line (our own line breaks kept). */
export function linesForTerminal(text: string, maxLineChars = 4000): string {
  return text.split("\n").map((l) => forTerminal(l, maxLineChars)).join("\n");
}

/** True when `value` nests arrays/objects deeper than `max` levels (iterative walk). */
export function depthExceeds(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== "object") continue;
    if (depth >= max) return true;
    for (const child of Object.values(v as Record<string, unknown>)) stack.push([child, depth + 1]);
  }
  return false;
}
