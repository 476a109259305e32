/**
 * Integer arithmetic for scores. Scores must not depend on floating-point rounding, so every
 * division here is exact integer division on values kept below 2^53.
 */

/**
 * ⌊a / b⌋ for integers |a| < 2^53, b > 0, exact. The float quotient never rounds across an
 * integer: when a / b is not an integer k, it lies at least 1/b from the next integer, while
 * rounding moves it by at most |a / b| · 2^-53 < 1/b. So no correction is needed (one that was
 * here could never fire); test/int.test.ts checks the cases it was meant for.
 */
export function intDiv(a: number, b: number): number {
  return Math.floor(a / b);
}

/**
 * ⌊scale · part / whole⌋ with part clamped to 0..whole; 0 when whole ≤ 0. When the product would
 * leave the safe-integer range (memory in the hundreds of gigabytes times a scale of 10,000), both
 * sides are divided by 1024 first: still integer-only and deterministic.
 */
export function ratio(part: number, whole: number, scale: number): number {
  if (whole <= 0) return 0;
  let p = Math.min(Math.max(part, 0), whole);
  let w = whole;
  while (p * scale > Number.MAX_SAFE_INTEGER) {
    p = intDiv(p, 1024);
    w = intDiv(w, 1024);
  }
  return intDiv(p * scale, w);
}

export function isCount(n: unknown): n is number {
  return typeof n === "number" && Number.isSafeInteger(n) && n >= 0;
}
