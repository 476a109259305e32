import type { ClusterState } from "./cluster-state";
import type { NodeInfo, ScorePlugin } from "./framework";
import { ScoreCache } from "./score-cache";
import type { PendingPod } from "./types";

export interface WeightedScorer {
  readonly plugin: ScorePlugin;
  readonly weight: number;
}

/**
 * The score phase: each scorer gives every feasible node an integer 0..100 (out-of-range values
 * are clamped), weighted and summed in integers. Raw scores of scorers with a `podKey` come from
 * the cache when their node has not changed since they were computed. Highest total wins; ties go to the node first in
 * canonical order (name, then id).
 */
export function pickBest(
  pod: PendingPod,
  cluster: ClusterState,
  scorers: readonly WeightedScorer[],
  feasible: Int32Array,
  count: number,
  scratch: Scratch,
): number {
  const { infos, raws, scores, totals, cache } = scratch;
  const nodes = cluster.nodes;
  const versions = cluster.versions;
  for (let i = 0; i < count; i++) {
    infos[i] = nodes[feasible[i] as number] as NodeInfo;
    totals[i] = 0;
  }
  for (const { plugin, weight } of scorers) {
    const score = plugin.prepare(pod, cluster);
    if (score === null) continue;
    // Raw scores into `raws` (doubles: a scorer without normalize may return anything).
    if (plugin.podKey === undefined || cache === null) {
      for (let i = 0; i < count; i++) raws[i] = score(infos[i] as NodeInfo);
    } else {
      const { raw, seen } = cache.entry(plugin, plugin.podKey(pod));
      for (let i = 0; i < count; i++) {
        const index = feasible[i] as number;
        const version = versions[index] as number;
        if (seen[index] !== version) {
          raw[index] = score(infos[i] as NodeInfo);
          seen[index] = version;
        }
        raws[i] = raw[index] as number;
      }
    }
    if (plugin.normalize) {
      for (let i = 0; i < count; i++) scores[i] = raws[i] as number;
      plugin.normalize(scores, count);
      for (let i = 0; i < count; i++) totals[i] = (totals[i] as number) + weight * clamp(scores[i] as number);
    } else {
      for (let i = 0; i < count; i++) totals[i] = (totals[i] as number) + weight * clamp(raws[i] as number);
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

/** Buffers `pickBest` reuses from one pod to the next, sized for the cluster, and the raw-score cache. */
export interface Scratch {
  readonly infos: NodeInfo[];
  readonly raws: Float64Array;
  readonly scores: Int32Array;
  readonly totals: Float64Array;
  /** null: every raw score computed afresh (what the cache must never change). */
  readonly cache: ScoreCache | null;
}

export function scratchFor(nodeCount: number, cached = true): Scratch {
  return {
    infos: new Array<NodeInfo>(nodeCount),
    raws: new Float64Array(nodeCount),
    scores: new Int32Array(nodeCount),
    totals: new Float64Array(nodeCount),
    cache: cached ? new ScoreCache(nodeCount) : null,
  };
}
