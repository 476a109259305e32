import { intDiv } from "../int";

/**
 * Turns raw "how many bad things" counts into 0..100 scores where the node with the most scores
 * 0 and a node with none scores 100 (kube's reverse DefaultNormalizeScore). All zero → all 100.
 */
export function reverseNormalize(scores: Int32Array, count: number): void {
  let max = 0;
  for (let i = 0; i < count; i++) if ((scores[i] ?? 0) > max) max = scores[i] ?? 0;
  for (let i = 0; i < count; i++) scores[i] = max === 0 ? 100 : intDiv(100 * (max - (scores[i] ?? 0)), max);
}
