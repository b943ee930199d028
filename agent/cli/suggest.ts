// "Did you mean ...?" for mistyped commands, subcommands and options: the candidate at the smallest
// edit distance (Damerau-Levenshtein: insertions, deletions, substitutions and swaps of neighbours,
// the four slips of a typing hand), if it is near enough to be a typo rather than another word.

/** Optimal string alignment distance between a and b. */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * The nearest candidate to `word`, or undefined when none is close: at most 2 edits, and fewer
 * edits than half the word (so 'in' does not suggest 'id'), or a candidate the word is a prefix of.
 * Ties go to the earlier candidate, so callers list the common words first.
 */
export function nearest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    if (c === word) continue;
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) { best = c; bestD = d; }
  }
  if (best !== undefined && bestD <= 2 && bestD * 2 < Math.max(word.length, 2)) return best;
  const prefixed = candidates.filter((c) => word.length >= 2 && c.startsWith(word));
  return prefixed.length === 1 ? prefixed[0] : undefined;
}

/** " (did you mean 'x'?)" or "". */
export function didYouMean(word: string, candidates: readonly string[], show: (c: string) => string = (c) => `'${c}'`): string {
  const n = nearest(word, candidates);
  return n === undefined ? '' : ` (did you mean ${show(n)}?)`;
}
