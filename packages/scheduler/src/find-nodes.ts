import type { ClusterState } from "./cluster-state";
import { FailureMemo } from "./failure-memo";
import type { FilterPlugin, NodeFilter, NodeInfo, Rejection } from "./framework";
import { StaticFilterCache } from "./static-cache";
import { addRejection } from "./summary";
import type { PendingPod } from "./types";

function keyOf(filters: readonly FilterPlugin[], pod: PendingPod): string {
  let key = "";
  for (const filter of filters) key += `${filter.podKey?.(pod) ?? ""}\u0000`;
  return key;
}

/**
 * The filter phase. Static filters come from a per-shape cache; the others run node by node,
 * starting where the previous pod's scan stopped (kube's nextStartNodeIndex) and stopping once
 * `toFind` feasible nodes are found. All state is per `schedule` call, so the plan stays a pure
 * function of its input.
 */
export class NodeFinder {
  /** After `find` returns a count n, the indices of the feasible nodes are in `feasible[0..n)`. */
  readonly feasible: Int32Array;
  private readonly rejections: (Rejection | null)[];
  private readonly staticFilters: readonly FilterPlugin[];
  private readonly dynamicFilters: readonly FilterPlugin[];
  private readonly statics: StaticFilterCache;
  private readonly failures: FailureMemo;
  private readonly active: NodeFilter[] = [];
  private start = 0;
  /**
   * The shape of the pod `find` last looked at: equal shapes get equal verdicts on every node, and
   * only placements change them. null when some filter gave no such promise for that pod.
   */
  lastShape: string | null = null;

  constructor(
    filters: readonly FilterPlugin[],
    private readonly cluster: ClusterState,
    private readonly toFind: number,
  ) {
    const nodeCount = cluster.nodes.length;
    this.feasible = new Int32Array(nodeCount);
    this.rejections = new Array(nodeCount).fill(null);
    this.staticFilters = filters.filter((f) => f.static === true && f.podKey);
    this.dynamicFilters = filters.filter((f) => !this.staticFilters.includes(f));
    this.statics = new StaticFilterCache(this.staticFilters, cluster);
    this.failures = new FailureMemo(cluster.placementLog);
  }

  /** How many feasible nodes were found for `pod`, or, when none, reason → number of nodes. */
  find(pod: PendingPod): number | ReadonlyMap<string, number> {
    const nodes = this.cluster.nodes;
    const staticKey = keyOf(this.staticFilters, pod);
    const { candidates, counts } = this.statics.verdict(staticKey, pod);
    this.active.length = 0;
    // Remembering failures is only sound when every filter with something to say about this pod
    // promises what `podKey` promises.
    let keyed = true;
    for (const filter of this.dynamicFilters) {
      const prepared = filter.prepare(pod, this.cluster);
      if (prepared === null) continue;
      this.active.push(prepared);
      if (!filter.podKey) keyed = false;
    }
    const total = candidates.length;
    const first = firstAtOrAfter(candidates, this.start);

    const memo = keyed ? this.failures : null;
    const shape = memo ? `${staticKey}\u0001${keyOf(this.dynamicFilters, pod)}` : "";
    this.lastShape = memo ? shape : null;
    const known = memo?.recall(shape, this.check, nodes);
    if (known) {
      // Same outcome, and same next start, as the full scan it stands for.
      if (total > 0) this.startAfter(candidates[first > 0 ? first - 1 : total - 1] as number);
      return merged(counts, known);
    }

    let found = 0;
    let visited = 0;
    let last = -1;
    for (; visited < total && found < this.toFind; visited++) {
      const at = first + visited < total ? first + visited : first + visited - total;
      last = candidates[at] as number;
      const info = nodes[last] as NodeInfo;
      let rejection: Rejection | null = null;
      for (let f = 0; f < this.active.length && rejection === null; f++) {
        rejection = (this.active[f] as NodeFilter)(info);
      }
      if (rejection === null) this.feasible[found++] = last;
      else this.rejections[last] = rejection;
    }
    if (last >= 0) this.startAfter(last);
    if (found > 0) return found;

    // Nothing feasible means every candidate was visited, so `rejections` is complete for them.
    const dynamic = new Map<string, number>();
    for (let i = 0; i < total; i++) {
      addRejection(dynamic, this.rejections[candidates[i] as number] as Rejection);
    }
    memo?.remember(shape, candidates, this.rejections, dynamic);
    return merged(counts, dynamic);
  }

  /** Whether every filter lets `pod` onto the node at `index`, as things stand. */
  fitsOn(pod: PendingPod, index: number): boolean {
    const info = this.cluster.nodes[index] as NodeInfo;
    for (const filter of [...this.staticFilters, ...this.dynamicFilters]) {
      const check = filter.prepare(pod, this.cluster);
      if (check !== null && check(info) !== null) return false;
    }
    return true;
  }

  /** The active non-static filters on one node, first rejection wins. */
  private readonly check: NodeFilter = (info) => {
    for (const filter of this.active) {
      const rejection = filter(info);
      if (rejection !== null) return rejection;
    }
    return null;
  };

  private startAfter(index: number): void {
    this.start = index + 1 < this.cluster.nodes.length ? index + 1 : 0;
  }
}

function merged(a: ReadonlyMap<string, number>, b: ReadonlyMap<string, number>): Map<string, number> {
  const out = new Map(a);
  for (const [reason, count] of b) out.set(reason, (out.get(reason) ?? 0) + count);
  return out;
}

/** First position in the ascending `sorted` whose value is ≥ `value`, wrapping to 0. */
function firstAtOrAfter(sorted: Int32Array, value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] as number) < value) lo = mid + 1;
    else hi = mid;
  }
  return lo === sorted.length ? 0 : lo;
}
