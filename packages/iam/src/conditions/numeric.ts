import type { OrderedComparison } from "./operators";
import { compareOrdered, type ValueTest } from "./value-test";

const NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/** A decimal number, or NaN. Hex, `Infinity`, blanks and the empty string are not numbers. */
export function parseNumber(text: string): number {
  if (!NUMBER.test(text)) return Number.NaN;
  const n = Number(text);
  return Number.isFinite(n) ? n : Number.NaN;
}

/**
 * Numeric operators (AWS "Numeric condition operators"; no policy variables). A value that is
 * not a number, on either side, matches nothing: it never throws and never satisfies
 * NumericEquals, so NumericNotEquals (its negation) is true for it.
 */
export function compileNumericTest(comparison: OrderedComparison, values: readonly string[]): ValueTest {
  const numbers = values.map(parseNumber); // a NaN among them compares false with everything
  return (request) => {
    const n = parseNumber(request);
    return numbers.some((p) => compareOrdered(comparison, n, p));
  };
}
