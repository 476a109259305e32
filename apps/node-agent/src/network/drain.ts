import type { Logger } from "@berth/core";
import type { NetworkView } from "@berth/protocol";

/**
 * Every node hears of a deleted pod within a few hundred ms (its view is pushed): 2 s is ample,
 * and short next to the 30 s grace period pods have by default.
 */
const DRAIN_MS = 2_000;
/** A pod that left the endpoints this long ago no longer needs draining. */
const LATELY_MS = 5_000;

/**
 * Draining a node's deleted pods before they stop, as a preStop `sleep` would: which pods are
 * Services' endpoints (or were, lately), and which are draining — those the node's own proxy gives
 * no new connection at once, while the other nodes read a view without them (the control plane
 * leaves a deleted pod out of the endpoints as soon as it is deleted).
 */
export class EndpointDrain {
  private endpoints = new Set<string>();
  private readonly left = new Map<string, number>();
  private readonly draining = new Set<string>();

  constructor(private readonly opts: { drainMs?: number | undefined; logger: Logger }) {}

  isDraining(podId: string): boolean {
    return this.draining.has(podId);
  }

  /** Keeps which pods are endpoints in `view`, and since when those that left are no longer. */
  note(view: NetworkView): void {
    const now = Date.now();
    const current = new Set(
      view.services.flatMap((s) => s.ports.flatMap((p) => p.endpoints.map((e) => e.podId))),
    );
    for (const podId of this.endpoints) if (!current.has(podId)) this.left.set(podId, now);
    for (const [podId, at] of this.left)
      if (current.has(podId) || now - at > 10 * 60_000) this.left.delete(podId);
    this.endpoints = current;
  }

  /**
   * Holds a pod out of this node's rotation for the drain time (at most `maxMs`) and resolves with
   * the time waited: 0 for a pod that is no Service's endpoint, nor was one lately.
   */
  async drain(podId: string, maxMs: number): Promise<number> {
    const left = this.left.get(podId);
    const lately = left !== undefined && Date.now() - left < LATELY_MS;
    if (!(this.endpoints.has(podId) || lately)) return 0;
    const ms = Math.min(maxMs, this.opts.drainMs ?? DRAIN_MS);
    if (ms <= 0) return 0;
    this.draining.add(podId);
    this.opts.logger.info({ podId, ms }, "draining the pod before it stops");
    try {
      await new Promise((r) => setTimeout(r, ms));
    } finally {
      this.draining.delete(podId);
    }
    return ms;
  }
}
