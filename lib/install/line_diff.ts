/**
 * A small line diff (longest common subsequence) for showing what `install`
 * changes in a unit or config file: `-` removed, `+` added, a few context lines
 * around each change. Unit files are short, so the quadratic table is fine.
 */

/** One line of a diff. */
export interface DiffLine {
  /** `-` only in the old text, `+` only in the new, ` ` in both. */
  op: "-" | "+" | " ";
  /** The line, without its newline. */
  text: string;
}

/** The full line diff of two texts (every line, unchanged ones included). */
export function diffLines(before: string, after: string): DiffLine[] {
  const a = before.split("\n");
  const b = after.split("\n");
  const n = a.length;
  const m = b.length;
  // lcs[i][j] = length of the LCS of a[i..] and b[j..]
  const lcs = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  const out: DiffLine[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) {
      out.push({ op: " ", text: a[i++] });
      j++;
    } else if (i < n && (j === m || lcs[i + 1][j] >= lcs[i][j + 1])) {
      out.push({ op: "-", text: a[i++] });
    } else {
      out.push({ op: "+", text: b[j++] });
    }
  }
  return out;
}

/**
 * The diff as text: changed lines with `context` unchanged lines around them,
 * `…` between distant changes; empty when the texts are equal.
 */
export function formatDiff(before: string, after: string, context = 2): string {
  const lines = diffLines(before, after);
  const keep = new Array<boolean>(lines.length).fill(false);
  lines.forEach((l, k) => {
    if (l.op === " ") return;
    for (let c = Math.max(0, k - context); c <= Math.min(lines.length - 1, k + context); c++) {
      keep[c] = true;
    }
  });
  const out: string[] = [];
  let skipped = false;
  lines.forEach((l, k) => {
    if (!keep[k]) {
      skipped = true;
      return;
    }
    if (skipped && out.length) out.push("  …");
    skipped = false;
    out.push(`${l.op} ${l.text}`);
  });
  return out.join("\n");
}
