import type { PendingPod } from "./types";

function fifo(a: PendingPod, b: PendingPod): number {
  if (a.createdSeq !== b.createdSeq) return a.createdSeq - b.createdSeq;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/**
 * The order pods are tried in: priority descending; within one priority, round-robin across
 * tenants (the tenant whose oldest pod is oldest goes first), each tenant's pods FIFO by
 * `createdSeq` then id. A tenant with 100,000 pending pods thus delays another tenant's 10 by at
 * most 10 turns. Independent of the input order.
 */
export function schedulingOrder(pods: readonly PendingPod[]): PendingPod[] {
  const byPriority = new Map<number, Map<string, PendingPod[]>>();
  for (const pod of pods) {
    let tenants = byPriority.get(pod.priority);
    if (!tenants) {
      tenants = new Map();
      byPriority.set(pod.priority, tenants);
    }
    const queue = tenants.get(pod.tenantId);
    if (queue) queue.push(pod);
    else tenants.set(pod.tenantId, [pod]);
  }

  const order: PendingPod[] = [];
  for (const priority of [...byPriority.keys()].sort((a, b) => b - a)) {
    const queues = [...(byPriority.get(priority)?.values() ?? [])];
    for (const queue of queues) queue.sort(fifo);
    // Every queue holds at least one pod, so its head is defined.
    queues.sort((a, b) => fifo(a[0] as PendingPod, b[0] as PendingPod));
    roundRobin(queues, order);
  }
  return order;
}

/** Appends one pod from each non-empty queue per round, dropping queues as they run dry. */
function roundRobin(queues: PendingPod[][], out: PendingPod[]): void {
  const active = [...queues];
  let live = active.length;
  for (let round = 0; live > 0; round++) {
    let kept = 0;
    for (let i = 0; i < live; i++) {
      const queue = active[i] as PendingPod[];
      const pod = queue[round];
      if (pod !== undefined) out.push(pod);
      if (round + 1 < queue.length) active[kept++] = queue;
    }
    live = kept;
  }
}
