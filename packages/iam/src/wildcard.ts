import { type Resolve, type Token, tokenize } from "./template";

/**
 * Wildcard patterns for Action, Resource and StringLike: `*` matches any run of characters
 * (including `/` and `:`), `?` exactly one (AWS, "IAM JSON policy elements: Action" and
 * "Resource", and the StringLike row of "Condition operators").
 *
 * A pattern is compiled once into the fixed-width pieces between its `*`s, and matched by
 * anchoring the first piece at the start, the last at the end, and finding each middle piece
 * at its leftmost position. That is exact for `*`/`?` globs and takes at most
 * O(subject × pattern) steps. Translating globs to a RegExp would be shorter, but a
 * backtracking engine is exponential in the number of `*`s on a failing subject
 * (`*a*a*a*a*a*a*a*b` against 60 `a`s: 30 s in V8), and tenants write these patterns.
 */

const ONE = 0;
/** A resolved piece: literal text or `?`. */
type Piece = string | typeof ONE;
/** A piece before resolution: it may still be a policy variable. */
type PieceTemplate = Piece | { readonly key: string };

interface Segment {
  readonly pieces: readonly Piece[];
  /** The text when the segment has no `?`, so `indexOf`/`startsWith` can be used. */
  readonly literal: string | null;
  readonly length: number;
}

export interface Glob {
  /** The pattern is only `*`s: it matches every string without looking at it. */
  readonly matchesAll: boolean;
  /** No `*`: the subject must match the single segment exactly. */
  readonly anchored: boolean;
  readonly segments: readonly Segment[] | null;
  /** Set when the pattern has variables: segments are resolved per request. */
  readonly templates: readonly (readonly PieceTemplate[])[] | null;
  /** A malformed pattern (unclosed `${`): it matches nothing. */
  readonly malformed: boolean;
}

function segment(pieces: readonly Piece[]): Segment {
  let literal: string | null = "";
  let length = 0;
  for (const piece of pieces) {
    if (piece === ONE) {
      literal = null;
      length += 1;
    } else {
      if (literal !== null) literal += piece;
      length += piece.length;
    }
  }
  return { pieces, literal, length };
}

function fromTokens(tokens: readonly Token[], foldCase: boolean): Glob {
  const templates: PieceTemplate[][] = [[]];
  let hasVariable = false;
  for (const token of tokens) {
    const current = templates[templates.length - 1] ?? [];
    if (token.kind === "star") templates.push([]);
    else if (token.kind === "one") current.push(ONE);
    else if (token.kind === "text") current.push(foldCase ? token.text.toLowerCase() : token.text);
    else {
      hasVariable = true;
      current.push({ key: token.key });
    }
  }
  const matchesAll = templates.length > 1 && templates.every((t) => t.length === 0);
  const anchored = templates.length === 1;
  if (hasVariable) return { matchesAll, anchored, segments: null, templates, malformed: false };
  const segments = templates.map((t) => segment(t.filter((p): p is Piece => typeof p !== "object")));
  return { matchesAll, anchored, segments, templates: null, malformed: false };
}

const MALFORMED: Glob = { matchesAll: false, anchored: true, segments: [], templates: null, malformed: true };

/** Compiled patterns shared by every document that uses the same text; bounded, oldest out first. */
const cache = new Map<string, Glob>();
const CACHE_LIMIT = 4096;

/**
 * Compiles a pattern. With `foldCase` (actions: AWS matches them case-insensitively) the
 * literal text is lower-cased and the subject must be lower-cased by the caller.
 */
export function compileGlob(pattern: string, foldCase: boolean): Glob {
  const cacheKey = (foldCase ? "i" : "c") + pattern;
  const cached = cache.get(cacheKey);
  if (cached !== undefined) return cached;
  const tokens = tokenize(pattern, true);
  const glob = tokens === null ? MALFORMED : fromTokens(tokens, foldCase);
  if (cache.size >= CACHE_LIMIT) {
    const oldest = cache.keys().next();
    if (oldest.done !== true) cache.delete(oldest.value);
  }
  cache.set(cacheKey, glob);
  return glob;
}

function matchAt(seg: Segment, subject: string, at: number): boolean {
  if (seg.literal !== null) return subject.startsWith(seg.literal, at);
  let i = at;
  for (const piece of seg.pieces) {
    if (piece === ONE) {
      if (i >= subject.length) return false;
      i += 1;
    } else {
      if (!subject.startsWith(piece, i)) return false;
      i += piece.length;
    }
  }
  return true;
}

/** Leftmost start in [from, end - length] where `seg` matches, or -1. */
function find(seg: Segment, subject: string, from: number, end: number): number {
  const last = end - seg.length;
  if (seg.literal !== null) {
    const at = subject.indexOf(seg.literal, from);
    return at >= 0 && at <= last ? at : -1;
  }
  for (let at = from; at <= last; at += 1) {
    if (matchAt(seg, subject, at)) return at;
  }
  return -1;
}

function matchSegments(segments: readonly Segment[], anchored: boolean, subject: string): boolean {
  const first = segments[0];
  if (first === undefined) return false;
  if (anchored) return first.length === subject.length && matchAt(first, subject, 0);
  const lastSeg = segments[segments.length - 1];
  if (lastSeg === undefined) return false;
  const end = subject.length - lastSeg.length;
  if (end < first.length || !matchAt(first, subject, 0) || !matchAt(lastSeg, subject, end)) return false;
  let pos = first.length;
  for (let k = 1; k < segments.length - 1; k += 1) {
    const seg = segments[k];
    if (seg === undefined) return false;
    const at = find(seg, subject, pos, end);
    if (at < 0) return false;
    pos = at + seg.length;
  }
  return true;
}

function resolveSegments(
  templates: readonly (readonly PieceTemplate[])[],
  resolve: Resolve,
): Segment[] | undefined {
  const out: Segment[] = [];
  for (const template of templates) {
    const pieces: Piece[] = [];
    for (const piece of template) {
      if (typeof piece !== "object") {
        pieces.push(piece);
        continue;
      }
      const value = resolve(piece.key);
      if (value === undefined) return undefined;
      pieces.push(value);
    }
    out.push(segment(pieces));
  }
  return out;
}

/**
 * Whether `subject` matches. A variable without a value makes the pattern match nothing
 * (AWS, "Policy variables with no value": the resource does not match); a variable's value
 * is literal text, its `*` and `?` are not wildcards.
 */
export function matchGlob(glob: Glob, subject: string, resolve: Resolve): boolean {
  if (glob.matchesAll) return true;
  if (glob.segments !== null) return !glob.malformed && matchSegments(glob.segments, glob.anchored, subject);
  if (glob.templates === null) return false;
  const segments = resolveSegments(glob.templates, resolve);
  return segments !== undefined && matchSegments(segments, glob.anchored, subject);
}
