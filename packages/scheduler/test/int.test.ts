import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { intDiv, isCount, ratio } from "../src/int";
import { propertyRuns } from "./property-runs";

const exactDiv = (a: number, b: number) => Number(BigInt(a) / BigInt(b));

describe("intDiv", () => {
  it.each([
    // One below a multiple of b near 2^53, where a float quotient would most easily round up.
    [2 ** 53 - 1, 3],
    [2 ** 53 - 2, 2 ** 26 + 1],
    [3 * (2 ** 51 - 1) - 1, 2 ** 51 - 1],
    [2 ** 53 - 1, 2 ** 53 - 2],
    [10, 3],
    [0, 7],
  ])("⌊%d / %d⌋ is exact", (a, b) => {
    expect(intDiv(a, b)).toBe(exactDiv(a, b));
  });

  it("is exact for every integer numerator below 2^53", () => {
    const operands = fc.tuple(
      fc.integer({ min: 1, max: 2 ** 40 }),
      fc.integer({ min: 0, max: 2 ** 13 - 1 }),
      fc.integer({ min: -3, max: 3 }),
    );
    fc.assert(
      fc.property(operands, ([b, k, off]) => {
        // Numerators right around multiples of b, clamped into 0..2^53-1.
        const a = Math.min(Math.max(b * k + off, 0), 2 ** 53 - 1);
        expect(intDiv(a, b)).toBe(exactDiv(a, b));
      }),
      { numRuns: propertyRuns(1000), seed: 53 },
    );
  });
});

describe("ratio", () => {
  it.each([
    { part: 1, whole: 3, scale: 100, want: 33 },
    { part: 2, whole: 3, scale: 100, want: 66 },
    { part: 3, whole: 3, scale: 100, want: 100 },
    { part: 5, whole: 3, scale: 100, want: 100 },
    { part: -5, whole: 3, scale: 100, want: 0 },
    { part: 1, whole: 0, scale: 100, want: 0 },
    { part: 1, whole: -4, scale: 100, want: 0 },
  ])("⌊$scale · $part / $whole⌋, part clamped, is $want", ({ part, whole, scale, want }) => {
    expect(ratio(part, whole, scale)).toBe(want);
  });

  it("divides both sides by 1024 while the product would leave the safe integers", () => {
    const whole = 2 ** 45 + 5 * 1024 - 1; // ~32 TiB: part × 10,000 is beyond 2^53
    // ⌊(whole − 1) / 1024⌋ = ⌊whole / 1024⌋: the scaled quotient is a whole 10,000 (exactly 9,999).
    expect(ratio(whole - 1, whole, 10_000)).toBe(10_000);
    expect(ratio(2 ** 44, whole, 10_000)).toBe(4_999);
    // Just inside the safe range nothing is scaled: ⌊(2^53 − 1) / 10,000⌋ × 10,000 stays exact.
    const part = Math.floor(Number.MAX_SAFE_INTEGER / 10_000);
    expect(ratio(part, part + 1, 10_000)).toBe(exactDiv(part * 10_000, part + 1));
    // 2^53 − 1 = 6361 × 69431 × 20394401: a product of exactly 2^53 − 1 is still safe, not scaled.
    const factor = 69_431 * 20_394_401;
    expect(ratio(factor, factor + 1, 6361)).toBe(6360);
  });
});

describe("isCount", () => {
  it.each([
    [0, true],
    [2 ** 53 - 1, true],
    [2 ** 53, false],
    [-1, false],
    [0.5, false],
    [Number.NaN, false],
    ["1", false],
    [undefined, false],
  ])("%s → %s", (n, want) => {
    expect(isCount(n)).toBe(want);
  });
});
