import { tokenize } from "../template";

/**
 * A pattern as symbols for reasoning about sets of strings (not one string): a literal character,
 * `*` (any run of characters) or `?` (exactly one). Policy variables are resolved first; their
 * values are literal text, as in the evaluator.
 */
export type Sym = string | typeof STAR | typeof ONE;
export const STAR = 0;
export const ONE = 1;

/**
 * The symbols of `pattern` with variables resolved from `context` (keys lower-cased). A variable
 * without a value, or a malformed pattern, gives `null`: the caller decides what is conservative
 * (a granted pattern of unknown extent counts as `*`; a held one covers nothing).
 */
export function symbolsOf(
  pattern: string,
  context: ReadonlyMap<string, string>,
  foldCase: boolean,
): Sym[] | null {
  const tokens = tokenize(pattern, true);
  if (tokens === null) return null;
  const out: Sym[] = [];
  for (const t of tokens) {
    if (t.kind === "star") out.push(STAR);
    else if (t.kind === "one") out.push(ONE);
    else {
      const text = t.kind === "text" ? t.text : context.get(t.key);
      if (text === undefined) return null;
      for (const ch of foldCase ? text.toLowerCase() : text) out.push(ch);
    }
  }
  return out;
}

/** `*` alone: every string. */
export const EVERYTHING: readonly Sym[] = [STAR];
