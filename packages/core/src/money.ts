/**
 * Exact money and quantities. Everything is a bigint of a small unit; strings are made only at the
 * edge. No JS number ever holds money.
 */

/** Divide, rounding half away from zero (the commercial rounding users expect on invoices). */
export function divRoundHalfUp(numerator: bigint, denominator: bigint): bigint {
  if (denominator <= 0n) throw new RangeError("denominator must be positive");
  const negative = numerator < 0n;
  const n = negative ? -numerator : numerator;
  const q = n / denominator;
  const r = n % denominator;
  const rounded = r * 2n >= denominator ? q + 1n : q;
  return negative ? -rounded : rounded;
}

/** `formatFixed(1234567n, 6)` → "1.234567"; always `decimals` digits after the point. */
export function formatFixed(value: bigint, decimals: number): string {
  const negative = value < 0n;
  const digits = (negative ? -value : value).toString().padStart(decimals + 1, "0");
  const whole = digits.slice(0, digits.length - decimals);
  const frac = digits.slice(digits.length - decimals);
  return `${negative ? "-" : ""}${whole}${decimals > 0 ? `.${frac}` : ""}`;
}

/** Like formatFixed, without trailing zeros after the point ("0.000011244", "0.1", "2"). */
export function formatTrimmed(value: bigint, decimals: number): string {
  const fixed = formatFixed(value, decimals);
  return decimals > 0 ? fixed.replace(/\.?0+$/, "") : fixed;
}
