// A unified-diff excerpt of two texts (line LCS), for golden mismatches that a reviewer reads.

/** One line of an edit script: kept (' '), removed from the expected text ('-') or added ('+'). */
type Edit = { readonly op: ' ' | '-' | '+'; readonly line: string; readonly a: number; readonly b: number };

/** The shortest edit script from `a` to `b` by longest common subsequence (fine for files of a few hundred lines). */
function editScript(a: readonly string[], b: readonly string[]): Edit[] {
  const lcs: number[][] = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  }
  const out: Edit[] = [];
  let [i, j] = [0, 0];
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) out.push({ op: ' ', line: a[i]!, a: i++, b: j++ });
    else if (i < a.length && (j === b.length || lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) out.push({ op: '-', line: a[i]!, a: i++, b: j });
    else out.push({ op: '+', line: b[j]!, a: i, b: j++ });
  }
  return out;
}

/**
 * `--- expected` / `+++ actual` and @@ hunks with `context` lines around each change, at most
 * `maxLines` lines of hunks (then "..."); an empty string when the texts are equal.
 */
export function unifiedDiff(expected: string, actual: string, opts: { context?: number; maxLines?: number; labels?: [string, string] } = {}): string {
  if (expected === actual) return '';
  const [context, maxLines] = [opts.context ?? 3, opts.maxLines ?? 60];
  const edits = editScript(expected.split('\n'), actual.split('\n'));
  const changed = edits.map((e, k) => (e.op !== ' ' ? k : -1)).filter((k) => k >= 0);
  const hunks: [number, number][] = [];
  for (const k of changed) {
    const [from, to] = [Math.max(0, k - context), Math.min(edits.length - 1, k + context)];
    const last = hunks.at(-1);
    if (last && from <= last[1] + 1) last[1] = to;
    else hunks.push([from, to]);
  }
  const [labelA, labelB] = opts.labels ?? ['expected', 'actual'];
  const lines = [`--- ${labelA}`, `+++ ${labelB}`];
  for (const [from, to] of hunks) {
    const slice = edits.slice(from, to + 1);
    const countA = slice.filter((e) => e.op !== '+').length;
    const countB = slice.filter((e) => e.op !== '-').length;
    lines.push(`@@ -${slice[0]!.a + 1},${countA} +${slice[0]!.b + 1},${countB} @@`, ...slice.map((e) => `${e.op}${e.line}`));
  }
  return lines.length - 2 > maxLines ? [...lines.slice(0, maxLines + 2), `... (${lines.length - 2 - maxLines} more diff lines)`].join('\n') : lines.join('\n');
}
