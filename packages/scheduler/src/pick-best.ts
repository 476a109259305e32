import type { ClusterView, NodeInfo, ScorePlugin } from "./framework";
import type { PendingPod } from "./types";

export interface WeightedScorer {
  readonly plugin: ScorePlugin;
  readonly weight: number;
}

/**
 * The score phase: each scorer gives every feasible node an integer 0..100 (out-of-range values
 * are clamped), weighted and summed in integers. Highest total wins; ties go to the node first in
 * canonical order (name, then id).
 */
export function pickBest(
  pod: PendingPod,
  cluster: ClusterView,
  scorers: readonly WeightedScorer[],
  feasible: Int32Array,
  count: number,
  scratch: Scratch,
): number {
  const { infos, scores, totals } = scratch;
  const nodes = cluster.nodes;
  for (let i = 0; i < count; i++) {
    infos[i] = nodes[feasible[i] as number] as NodeInfo;
    totals[i] = 0;
  }
  for (const { plugin, weight } of scorers) {
    const score = plugin.prepare(pod, cluster);
    if (score === null) continue;
    if (plugin.normalize) {
      for (let i = 0; i < count; i++) scores[i] = score(infos[i] as NodeInfo);
      plugin.normalize(scores, count);
      for (let i = 0; i < count; i++) totals[i] = (totals[i] as number) + weight * clamp(scores[i] as number);
    } else {
      for (let i = 0; i < count; i++)
        totals[i] = (totals[i] as number) + weight * clamp(score(infos[i] as NodeInfo));
    }
  }
  let best = feasible[0] as number;
  let bestTotal = totals[0] as number;
  for (let i = 1; i < count; i++) {
    const index = feasible[i] as number;
    const total = totals[i] as number;
    if (total > bestTotal || (total === bestTotal && index < best)) {
      best = index;
      bestTotal = total;
    }
  }
  return best;
}

/** A score as the contract says it is: an integer in 0..100 (NaN counts as 0). */
function clamp(score: number): number {
  return score >= 100 ? 100 : score > 0 ? Math.trunc(score) : 0;
}

/** Buffers `pickBest` reuses from one pod to the next, sized for the cluster. */
export interface Scratch {
  readonly infos: NodeInfo[];
  readonly scores: Int32Array;
  readonly totals: Float64Array;
}

export function scratchFor(nodeCount: number): Scratch {
  return {
    infos: new Array<NodeInfo>(nodeCount),
    scores: new Int32Array(nodeCount),
    totals: new Float64Array(nodeCount),
  };
}
