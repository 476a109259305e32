import type { NodeFilter, NodeInfo, Rejection } from "./framework";
import { addRejection, removeRejection } from "./summary";

interface Failure {
  readonly candidates: Int32Array;
  /** The non-static rejection of each candidate, by position in `candidates`. */
  readonly rejections: Rejection[];
  /** Tally of `rejections`, kept in step with it. */
  readonly counts: Map<string, number>;
  /** How much of the placement log this failure has already been brought up to date with. */
  seen: number;
}

/**
 * Remembers, per pod shape, why no candidate node could take it. A later pod of the same shape
 * (the next replica of a deployment) need not visit every node again: only the nodes that
 * received a pod since are re-checked, because a filter with a `podKey` promises its verdict on a
 * node changes only when that node does. Exact: the counts are what a full scan would give, and
 * as soon as a re-checked node lets the pod through the memory is dropped and the caller scans.
 */
export class FailureMemo {
  private readonly entries = new Map<string, Failure>();

  /** `log` is the cluster's placement log: the node index of every placement, in order. */
  constructor(
    private readonly log: readonly number[],
    private readonly limit = 256,
  ) {}

  remember(
    key: string,
    candidates: Int32Array,
    byNode: readonly (Rejection | null)[],
    counts: ReadonlyMap<string, number>,
  ): void {
    const rejections = Array.from(candidates, (index) => byNode[index] as Rejection);
    if (this.entries.size >= this.limit) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(key, { candidates, rejections, counts: new Map(counts), seen: this.log.length });
  }

  /** The up-to-date rejection counts for this shape, or null when unknown or a node may now fit. */
  recall(key: string, check: NodeFilter, nodes: readonly NodeInfo[]): ReadonlyMap<string, number> | null {
    const failure = this.entries.get(key);
    if (!failure) return null;
    for (; failure.seen < this.log.length; failure.seen++) {
      const index = this.log[failure.seen] as number;
      const at = indexOf(failure.candidates, index);
      if (at < 0) continue;
      const now = check(nodes[index] as NodeInfo);
      if (now === null) {
        this.entries.delete(key);
        return null;
      }
      removeRejection(failure.counts, failure.rejections[at] as Rejection);
      addRejection(failure.counts, now);
      failure.rejections[at] = now;
    }
    return failure.counts;
  }
}

/** Position of `value` in the ascending `sorted`, or -1. */
export function indexOf(sorted: Int32Array, value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] as number) < value) lo = mid + 1;
    else hi = mid;
  }
  return lo < sorted.length && sorted[lo] === value ? lo : -1;
}
