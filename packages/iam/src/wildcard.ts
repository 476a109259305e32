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

export const ONE = 0;
/** A resolved piece: literal text or `?`. */
export type Piece = string | typeof ONE;
/** A piece before resolution: it may still be a policy variable. */
export type PieceTemplate = Piece | { readonly key: string };

interface Segment {
  readonly pieces: readonly Piece[];
  /** The text when the segment has no `?`, so `indexOf`/`startsWith` can be used. */
  readonly literal: string | null;
  readonly length: number;
}

export interface Glob {
  /**
   * The pattern's parts between its `*`s, in order: literal text, `?` and variables. A
   * well-formed pattern has at least one (the empty pattern has one empty part); a malformed
   * one (an unclosed `${`) has none and matches nothing.
   */
  readonly parts: readonly (readonly PieceTemplate[])[];
  /** The parts ready to match when the pattern has no variables; null when they are resolved per request. */
  readonly segments: readonly Segment[] | null;
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

/** The parts with their variables replaced by their values, or undefined when one has no value. */
function resolveSegments(
  parts: readonly (readonly PieceTemplate[])[],
  resolve: Resolve,
): Segment[] | undefined {
  const out: Segment[] = [];
  for (const part of parts) {
    const pieces: Piece[] = [];
    for (const piece of part) {
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

const NO_VALUES: Resolve = () => undefined;

function fromTokens(tokens: readonly Token[], foldCase: boolean): Glob {
  let current: PieceTemplate[] = [];
  const parts: PieceTemplate[][] = [current];
  for (const token of tokens) {
    if (token.kind === "star") {
      current = [];
      parts.push(current);
    } else if (token.kind === "one") current.push(ONE);
    else if (token.kind === "text") current.push(foldCase ? token.text.toLowerCase() : token.text);
    else current.push({ key: token.key });
  }
  // Without variables the segments are built once; with them, per request.
  return { parts, segments: resolveSegments(parts, NO_VALUES) ?? null };
}

const MALFORMED: Glob = { parts: [], segments: null };

/** Compiled patterns shared by every document that uses the same text; bounded, oldest out first. */
const exactCache = new Map<string, Glob>();
const foldedCache = new Map<string, Glob>();
const CACHE_LIMIT = 4096;

/**
 * Compiles a pattern. With `foldCase` (actions: AWS matches them case-insensitively) the
 * literal text is lower-cased and the subject must be lower-cased by the caller.
 */
export function compileGlob(pattern: string, foldCase: boolean): Glob {
  const cache = foldCase ? foldedCache : exactCache;
  const cached = cache.get(pattern);
  if (cached !== undefined) return cached;
  const tokens = tokenize(pattern, true);
  const glob = tokens === null ? MALFORMED : fromTokens(tokens, foldCase);
  if (cache.size >= CACHE_LIMIT) {
    for (const oldest of cache.keys()) {
      cache.delete(oldest);
      break;
    }
  }
  cache.set(pattern, glob);
  return glob;
}

/** Whether `seg` matches at `at`; callers leave room for the whole segment (`at + seg.length <= subject.length`). */
function matchAt(seg: Segment, subject: string, at: number): boolean {
  if (seg.literal !== null) return subject.startsWith(seg.literal, at);
  let i = at;
  for (const piece of seg.pieces) {
    if (piece === ONE) {
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
    // indexOf gives -1 when the text is absent; returned as is, or replaced by -1.
    const at = subject.indexOf(seg.literal, from);
    return at <= last ? at : -1;
  }
  for (let at = from; at <= last; at += 1) {
    if (matchAt(seg, subject, at)) return at;
  }
  return -1;
}

function matchSegments(segments: readonly Segment[], subject: string): boolean {
  const first = segments[0];
  if (first === undefined) return false; // a malformed pattern
  if (segments.length === 1) return first.length === subject.length && matchAt(first, subject, 0);
  const lastSeg = segments[segments.length - 1] as Segment; // there are at least two
  const end = subject.length - lastSeg.length;
  if (end < first.length || !matchAt(first, subject, 0) || !matchAt(lastSeg, subject, end)) return false;
  let pos = first.length;
  for (let k = 1; k < segments.length - 1; k += 1) {
    const seg = segments[k] as Segment;
    const at = find(seg, subject, pos, end);
    if (at < 0) return false;
    pos = at + seg.length;
  }
  return true;
}

/**
 * Whether `subject` matches. A variable without a value makes the pattern match nothing
 * (AWS, "Policy variables with no value": the resource does not match); a variable's value
 * is literal text, its `*` and `?` are not wildcards.
 */
export function matchGlob(glob: Glob, subject: string, resolve: Resolve): boolean {
  const segments = glob.segments ?? resolveSegments(glob.parts, resolve);
  return segments !== undefined && matchSegments(segments, subject);
}
