/**
 * The operator's "are you sure?": asked only when standard input is a
 * terminal (a script or a unit never blocks on it) and `--yes` was not given.
 */

/** Asks `question [y/N]` on stderr and reads one line from a terminal stdin; true for y/yes. */
export async function confirm(question: string, options: { yes: boolean }): Promise<boolean> {
  if (options.yes || !Deno.stdin.isTerminal()) return true;
  Deno.stderr.writeSync(new TextEncoder().encode(`${question} [y/N] `));
  const buf = new Uint8Array(256);
  const n = await Deno.stdin.read(buf);
  const answer = n === null ? "" : new TextDecoder().decode(buf.subarray(0, n)).trim();
  return /^y(es)?$/i.test(answer);
}
