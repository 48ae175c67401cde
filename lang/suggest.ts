// "Did you mean" suggestions: optimal string alignment (Damerau-Levenshtein
// with adjacent transpositions) against a list of candidates.

export function editDistance(a: string, b: string, limit = Infinity): number {
  if (a === b) return 0;
  const n = a.length;
  const m = b.length;
  if (Math.abs(n - m) > limit) return limit + 1;
  if (n === 0) return m;
  if (m === 0) return n;
  let prev2 = new Array<number>(m + 1).fill(0);
  let prev = new Array<number>(m + 1);
  let cur = new Array<number>(m + 1);
  for (let j = 0; j <= m; j++) prev[j] = j;
  for (let i = 1; i <= n; i++) {
    cur[0] = i;
    let rowMin = cur[0];
    const ai = a.charCodeAt(i - 1);
    for (let j = 1; j <= m; j++) {
      const bj = b.charCodeAt(j - 1);
      const cost = ai === bj ? 0 : 1;
      let v = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && ai === b.charCodeAt(j - 2) && a.charCodeAt(i - 2) === bj) v = Math.min(v, prev2[j - 2]! + 1);
      cur[j] = v;
      if (v < rowMin) rowMin = v;
    }
    if (rowMin > limit) return limit + 1;
    [prev2, prev, cur] = [prev, cur, prev2];
  }
  return prev[m]!;
}

/** The closest candidate, if it is close enough to be a likely typo. */
export function suggest(word: string, candidates: Iterable<string>): string | undefined {
  const lower = word.toLowerCase();
  const limit = Math.max(1, Math.floor(word.length / 3));
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    if (c === word) continue;
    const cl = c.toLowerCase();
    const d = cl === lower ? 0.5 : editDistance(lower, cl, limit);
    if (d <= limit && d < bestD) {
      best = c;
      bestD = d;
    }
  }
  return best;
}

/** "did you mean `X`?" or undefined. */
export function didYouMean(word: string, candidates: Iterable<string>, decorate: (s: string) => string = (s) => s): string | undefined {
  const s = suggest(word, candidates);
  return s === undefined ? undefined : `did you mean \`${decorate(s)}\`?`;
}

/** `a`, `b` or `c` (at most `max` shown). */
export function listOf(items: readonly string[], max = 12): string {
  const shown = items.slice(0, max).map((s) => "`" + s + "`");
  const more = items.length > max ? ", …" : "";
  if (shown.length <= 1) return (shown[0] ?? "") + more;
  if (more) return shown.join(", ") + more;
  return shown.slice(0, -1).join(", ") + " or " + shown[shown.length - 1];
}

/**
 * The help for an unknown statement that names a program (`ps -ef`): most
 * likely a `run` was meant. `isCommand` comes from the runtime (HostView).
 */
export function programHint(isCommand: ((name: string) => boolean) | undefined, name: string, args: readonly string[]): string | undefined {
  if (!isCommand?.(name)) return undefined;
  return `\`${name}\` is a program, not a statement: to run it in the container, write \`${["run", name, ...args].join(" ")}\``;
}
