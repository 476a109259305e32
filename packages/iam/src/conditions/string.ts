import { resolveText, type TextToken, tokenize } from "../template";
import { compileGlob, matchGlob } from "../wildcard";
import type { StringComparison } from "./operators";
import type { ValueTest } from "./value-test";

/**
 * String operators (AWS "String condition operators"): StringEquals is case-sensitive,
 * StringEqualsIgnoreCase folds case, StringLike takes `*` and `?`. All three substitute
 * policy variables; a value whose variable has no value matches nothing.
 */
export function compileStringTest(comparison: StringComparison, values: readonly string[]): ValueTest {
  if (comparison === "Like") {
    const globs = values.map((v) => compileGlob(v, false));
    return (request, resolve) => globs.some((g) => matchGlob(g, request, resolve));
  }
  const fold = comparison === "EqualsIgnoreCase";
  const templates = values
    .map((v) => tokenize(fold ? v.toLowerCase() : v, false))
    .filter((t): t is TextToken[] => t !== null);
  const constant = templates.every((t) => t.every((token) => token.kind === "text"));
  if (constant) {
    const set = new Set(templates.map((t) => (t[0]?.kind === "text" ? t[0].text : "")));
    return fold ? (request) => set.has(request.toLowerCase()) : (request) => set.has(request);
  }
  return (request, resolve) => {
    const subject = fold ? request.toLowerCase() : request;
    return templates.some((t) => {
      const value = resolveText(t, resolve);
      return value !== undefined && (fold ? value.toLowerCase() : value) === subject;
    });
  };
}
