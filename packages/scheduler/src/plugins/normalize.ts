import { intDiv } from "../int";

/**
 * Turns raw "how many bad things" counts into 0..100 scores where the node with the most scores
 * 0 and a node with none scores 100: kube's reverse DefaultNormalizeScore, 100 − ⌊100 · count / max⌋
 * (so rounded up, not down). All zero → all 100.
 */
export function reverseNormalize(scores: Int32Array, count: number): void {
  let max = 0;
  for (let i = 0; i < count; i++) if ((scores[i] ?? 0) > max) max = scores[i] ?? 0;
  for (let i = 0; i < count; i++) scores[i] = max === 0 ? 100 : 100 - intDiv(100 * (scores[i] ?? 0), max);
}

/** kube's DefaultNormalizeScore: the highest becomes 100, the rest in proportion; all 0 stays 0. */
export function normalizeToMax(scores: Int32Array, count: number): void {
  let max = 0;
  for (let i = 0; i < count; i++) if ((scores[i] ?? 0) > max) max = scores[i] ?? 0;
  if (max === 0) return;
  for (let i = 0; i < count; i++) scores[i] = intDiv(100 * Math.max(0, scores[i] ?? 0), max);
}

/** Min-max to 0..100, as kube's InterPodAffinity and PodTopologySpread rescale; all equal → all 0. */
export function normalizeMinMax(scores: Int32Array, count: number): void {
  if (count === 0) return;
  let min = scores[0] ?? 0;
  let max = min;
  for (let i = 1; i < count; i++) {
    const s = scores[i] ?? 0;
    if (s < min) min = s;
    if (s > max) max = s;
  }
  const span = max - min;
  for (let i = 0; i < count; i++) scores[i] = span === 0 ? 0 : intDiv(100 * ((scores[i] ?? 0) - min), span);
}
