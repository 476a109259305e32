import type { ClusterView, FilterPlugin, NodeFilter, NodeInfo, Rejection } from "./framework";
import { tally } from "./summary";
import type { PendingPod } from "./types";

/** What the static filters make of every node for one pod shape. */
export interface StaticVerdict {
  /** Indices of the nodes every static filter lets through, ascending. */
  readonly candidates: Int32Array;
  /** Reason → number of nodes the static filters turned down for it. */
  readonly counts: ReadonlyMap<string, number>;
}

/**
 * Static filters (ready, cordoned, node selector, taints) answer the same for every pod with the
 * same key, and placements do not change their answer; so they run once per distinct key over all
 * nodes and the answer is kept (kube's old equivalence cache, in small). At most `limit` keys are
 * kept, oldest dropped first: the cache changes how fast a plan is made, never which plan.
 */
export class StaticFilterCache {
  private readonly entries = new Map<string, StaticVerdict>();

  constructor(
    private readonly filters: readonly FilterPlugin[],
    private readonly cluster: ClusterView,
    private readonly limit = 256,
  ) {}

  verdict(key: string, pod: PendingPod): StaticVerdict {
    const hit = this.entries.get(key);
    if (hit) return hit;
    const verdict = this.compute(pod);
    if (this.entries.size >= this.limit) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(key, verdict);
    return verdict;
  }

  private compute(pod: PendingPod): StaticVerdict {
    const prepared: NodeFilter[] = [];
    for (const filter of this.filters) {
      const check = filter.prepare(pod, this.cluster);
      if (check !== null) prepared.push(check);
    }
    const nodes: readonly NodeInfo[] = this.cluster.nodes;
    const candidates: number[] = [];
    const rejections: Rejection[] = [];
    for (const info of nodes) {
      let rejection: Rejection | null = null;
      for (let f = 0; f < prepared.length && rejection === null; f++)
        rejection = (prepared[f] as NodeFilter)(info);
      if (rejection === null) candidates.push(info.index);
      else rejections.push(rejection);
    }
    return { candidates: Int32Array.from(candidates), counts: tally(rejections) };
  }
}
