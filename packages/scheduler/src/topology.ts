import type { PodFacts } from "./terms";

/** One change to the pods on a node: a pod counted (+1) or taken away again (−1). */
export interface PodChange {
  readonly pod: PodFacts;
  readonly node: number;
  readonly delta: 1 | -1;
}

/**
 * Matching pods per topology domain (a value of one node label), kept up to date from the
 * cluster's change log: each read first applies the changes made since the last, so a counter
 * costs one pass over the pods when made and O(1) per placement after (kube's PreFilter state,
 * made incremental). With `eligible`, only pods on those nodes count, and every value those
 * nodes carry is a domain from the start (with 0 pods): what topology spread needs for its
 * global minimum.
 */
export class DomainCounter {
  readonly counts = new Map<string, number>();
  private seen = 0;
  private min = 0;
  private atMin = 0;

  constructor(
    /** Each node's value of the topology key, by node index; undefined: the node is in no domain. */
    private readonly values: readonly (string | undefined)[],
    private readonly matches: (pod: PodFacts) => boolean,
    private readonly eligible: Uint8Array | null,
  ) {
    if (eligible === null) return;
    for (let i = 0; i < values.length; i++) {
      const value = values[i];
      if (eligible[i] === 1 && value !== undefined) this.counts.set(value, 0);
    }
    this.atMin = this.counts.size;
  }

  /** Applies `log[seen..]`. */
  catchUp(log: readonly PodChange[]): this {
    for (; this.seen < log.length; this.seen++) {
      const change = log[this.seen] as PodChange;
      if (this.eligible !== null && this.eligible[change.node] !== 1) continue;
      const value = this.values[change.node];
      if (value === undefined || !this.matches(change.pod)) continue;
      const before = this.counts.get(value) ?? 0;
      const after = before + change.delta;
      this.counts.set(value, after);
      if (this.eligible !== null) this.trackMin(before, after);
    }
    return this;
  }

  /** The number of domains (only meaningful with `eligible`). */
  get domains(): number {
    return this.counts.size;
  }

  /** The fewest matching pods in any domain; 0 without domains (only meaningful with `eligible`). */
  get minimum(): number {
    return this.min;
  }

  private trackMin(before: number, after: number): void {
    if (after < this.min) {
      this.min = after;
      this.atMin = 1;
      return;
    }
    if (after === this.min) this.atMin += 1;
    if (before === this.min && after !== before) {
      this.atMin -= 1;
      if (this.atMin === 0) this.recomputeMin();
    }
  }

  private recomputeMin(): void {
    let min = Number.POSITIVE_INFINITY;
    let at = 0;
    for (const count of this.counts.values()) {
      if (count < min) {
        min = count;
        at = 1;
      } else if (count === min) at += 1;
    }
    this.min = Number.isFinite(min) ? min : 0;
    this.atMin = at;
  }
}
