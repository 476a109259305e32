import { z } from "zod";
import { ValidationError } from "./errors";
import { ID_PREFIXES, type IdKind } from "./ids";

/** How deep and how large a request's input may be; deeper or larger input is refused before anything reads it. */
export const INPUT_LIMITS = { depth: 32, nodes: 20_000 } as const;

// A NUL (Postgres text cannot hold it) or a UTF-16 surrogate without its other half (not valid Unicode).
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding NUL is the point
const UNSAFE_TEXT = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Why a string cannot be stored as text, or null when it can. */
export function unsafeTextProblem(text: string): string | null {
  const m = UNSAFE_TEXT.exec(text);
  if (!m) return null;
  return m[0] === "\u0000" ? "must not contain NUL characters" : "must be valid Unicode (a lone surrogate)";
}

/**
 * Refuses, in one pass at the edge, what no field of any operation may hold: NUL characters and
 * lone surrogates in any string or key, input nested deeper than 32 levels or with more than 20,000
 * values. Every route gets this before its own schema runs, so the class is closed for routes that
 * do not exist yet too.
 */
export function assertSafeInput(input: unknown): void {
  const stack: { value: unknown; path: string; depth: number }[] = [{ value: input, path: "", depth: 0 }];
  let seen = 0;
  const fail = (path: string, message: string): never => {
    const where = path || "(input)";
    throw new ValidationError(`${where}: ${message}`, [{ path: where, message }]);
  };
  while (stack.length > 0) {
    const { value, path, depth } = stack.pop() as (typeof stack)[number];
    if (++seen > INPUT_LIMITS.nodes) fail("(input)", `has more than ${INPUT_LIMITS.nodes} values`);
    if (typeof value === "string") {
      const problem = unsafeTextProblem(value);
      if (problem) fail(path, problem);
      continue;
    }
    if (typeof value !== "object" || value === null) continue;
    if (depth >= INPUT_LIMITS.depth) fail(path, `is nested deeper than ${INPUT_LIMITS.depth} levels`);
    if (Array.isArray(value)) {
      value.forEach((v, i) => {
        stack.push({ value: v, path: `${path}[${i}]`, depth: depth + 1 });
      });
      continue;
    }
    for (const [k, v] of Object.entries(value)) {
      const keyProblem = unsafeTextProblem(k);
      const at = path ? `${path}.${k}` : k;
      if (keyProblem) fail(path || "(input)", `a key ${keyProblem}`);
      stack.push({ value: v, path: at, depth: depth + 1 });
    }
  }
}

/** An id of one kind: its prefix and 26 characters of Crockford base32 (see `newId`). */
export function idOf(kind: IdKind) {
  const prefix = ID_PREFIXES[kind];
  return z.string().regex(new RegExp(`^${prefix}_[0-9a-z]{26}$`), `must be an id of the form ${prefix}_…`);
}

/** A page cursor: the id of the last item of the previous page. */
export const cursorSchema = z
  .string()
  .regex(/^[a-z]{1,4}_[0-9a-z]{26}$/, "must be the nextCursor of a previous page");

const MIN_INSTANT = Date.UTC(1970, 0, 1);
const MAX_INSTANT = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** An ISO 8601 instant with an offset, between 1970 and 9999 (Postgres and JavaScript agree on those). */
export const instantSchema = z.iso.datetime({ offset: true }).refine((s) => {
  const ms = Date.parse(s);
  return Number.isFinite(ms) && ms >= MIN_INSTANT && ms <= MAX_INSTANT;
}, "must be between 1970-01-01 and 9999-12-31");
