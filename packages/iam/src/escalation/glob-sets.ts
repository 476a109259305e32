import { ONE, STAR, type Sym } from "./symbols";

/**
 * Whether every string `inner` matches is also matched by `outer` (L(inner) ⊆ L(outer)). Sound: a
 * "true" is always right. It treats `inner` as a word over characters and its own wildcards, and
 * asks whether `outer` matches that word with `*` absorbing anything (wildcards included), `?`
 * absorbing one character or one `?`, and a character only itself; every string of `inner` then
 * follows the same alignment. It may say "false" for a few contrived pairs where inclusion holds,
 * which only makes the escalation check stricter. O(|inner| × |outer|).
 */
export function includes(outer: readonly Sym[], inner: readonly Sym[]): boolean {
  const n = outer.length;
  const m = inner.length;
  // reach[j]: outer[0..i) can produce inner[0..j)
  let reach = new Array<boolean>(m + 1).fill(false);
  reach[0] = true;
  for (let i = 0; i < n; i++) {
    const o = outer[i];
    const next = new Array<boolean>(m + 1).fill(false);
    if (o === STAR) {
      // A star produces any run: reachable from any earlier reachable point.
      let any = false;
      for (let j = 0; j <= m; j++) {
        any = any || (reach[j] as boolean);
        next[j] = any;
      }
    } else {
      for (let j = 0; j < m; j++) {
        if (!reach[j]) continue;
        const s = inner[j];
        if (s === STAR) continue; // only an outer star covers an inner star
        if (o === ONE || s === o) next[j + 1] = true; // `?` covers one character or one `?`
      }
    }
    reach = next;
  }
  return reach[m] as boolean;
}

/** Whether some string is matched by both patterns. Exact for `*`/`?` globs. O(|a| × |b|). */
export function intersects(a: readonly Sym[], b: readonly Sym[]): boolean {
  const memo = new Map<number, boolean>();
  const width = b.length + 1;
  const go = (i: number, j: number): boolean => {
    const key = i * width + j;
    const hit = memo.get(key);
    if (hit !== undefined) return hit;
    let result: boolean;
    if (i === a.length && j === b.length) result = true;
    else if (a[i] === STAR) result = go(i + 1, j) || (j < b.length && go(i, j + 1));
    else if (b[j] === STAR) result = go(i, j + 1) || (i < a.length && go(i + 1, j));
    else if (i < a.length && j < b.length) {
      const x = a[i];
      const y = b[j];
      result = (x === ONE || y === ONE || x === y) && go(i + 1, j + 1);
    } else result = false;
    memo.set(key, result);
    return result;
  };
  return go(0, 0);
}
