import { resolveText, type TextToken, tokenize } from "../template";
import type { ValueTest } from "./value-test";

/**
 * Bool (AWS "Boolean condition operators"): "true" or "false", compared without regard to
 * case; JSON `true`/`false` in a policy arrive here as strings. Policy variables are
 * substituted. Anything else, on either side, matches nothing.
 */
export function compileBoolTest(values: readonly string[]): ValueTest {
  const templates = values.map((v) => tokenize(v, false)).filter((t): t is TextToken[] => t !== null);
  return (request, resolve) => {
    const subject = request.toLowerCase();
    if (subject !== "true" && subject !== "false") return false;
    return templates.some((t) => resolveText(t, resolve)?.toLowerCase() === subject);
  };
}

export function isBoolText(text: string): boolean {
  const lower = text.toLowerCase();
  return lower === "true" || lower === "false";
}
