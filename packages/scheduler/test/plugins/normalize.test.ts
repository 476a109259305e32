import { describe, expect, it } from "vitest";
import { normalizeMinMax, normalizeToMax, reverseNormalize } from "../../src/plugins/normalize";

/** Runs `normalize` over the first `count` entries of `raw` and returns the whole buffer. */
function run(normalize: (scores: Int32Array, count: number) => void, raw: number[], count = raw.length) {
  const scores = Int32Array.from(raw);
  normalize(scores, count);
  return [...scores];
}

describe("reverseNormalize (kube's DefaultNormalizeScore, reversed)", () => {
  it.each([
    { raw: [0, 1, 2], expected: [100, 50, 0] },
    // 100 − ⌊100 · 1 / 3⌋ = 67 and 100 − ⌊200 / 3⌋ = 34: kube rounds the share taken off down.
    { raw: [1, 3, 2, 0], expected: [67, 0, 34, 100] },
    { raw: [0, 0], expected: [100, 100] },
    { raw: [5], expected: [0] },
  ])("$raw → $expected", ({ raw, expected }) => {
    expect(run(reverseNormalize, raw)).toEqual(expected);
  });

  it("reads and writes only the first `count` scores of a longer buffer", () => {
    expect(run(reverseNormalize, [1, 2, 9, 7], 2)).toEqual([50, 0, 9, 7]);
    expect(run(reverseNormalize, [0, 0, 9], 2)).toEqual([100, 100, 9]);
  });
});

describe("normalizeToMax (kube's DefaultNormalizeScore)", () => {
  it.each([
    { raw: [0, 1, 3], expected: [0, 33, 100] },
    { raw: [2, 4], expected: [50, 100] },
    { raw: [0, 0], expected: [0, 0] },
    { raw: [-3, 6], expected: [0, 100] },
  ])("$raw → $expected", ({ raw, expected }) => {
    expect(run(normalizeToMax, raw)).toEqual(expected);
  });

  it("reads and writes only the first `count` scores of a longer buffer", () => {
    expect(run(normalizeToMax, [1, 2, 8, 7], 2)).toEqual([50, 100, 8, 7]);
    expect(run(normalizeToMax, [0, 0, 8], 2)).toEqual([0, 0, 8]);
  });
});

describe("normalizeMinMax (InterPodAffinity, PodTopologySpread)", () => {
  it.each([
    { raw: [-4, 0, 4], expected: [0, 50, 100] },
    { raw: [3, 1, 2, 10], expected: [22, 0, 11, 100] },
    { raw: [7, 7], expected: [0, 0] },
    { raw: [5], expected: [0] },
  ])("$raw → $expected", ({ raw, expected }) => {
    expect(run(normalizeMinMax, raw)).toEqual(expected);
  });

  it("reads and writes only the first `count` scores of a longer buffer", () => {
    expect(run(normalizeMinMax, [2, 4, 100, -50], 2)).toEqual([0, 100, 100, -50]);
    expect(run(normalizeMinMax, [9, 9, 1], 0)).toEqual([9, 9, 1]);
  });
});
