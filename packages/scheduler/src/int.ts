/**
 * Integer arithmetic for scores. Scores must not depend on floating-point rounding, so every
 * division here is exact integer division on values kept below 2^53.
 */

/**
 * ⌊a / b⌋ for integers 0 ≤ a < 2^53, b > 0, exact: the float quotient can round up across an
 * integer, so it is checked and corrected with products that stay exact.
 */
export function intDiv(a: number, b: number): number {
  let q = Math.floor(a / b);
  if (q * b > a) q -= 1;
  else if ((q + 1) * b <= a) q += 1;
  return q;
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
