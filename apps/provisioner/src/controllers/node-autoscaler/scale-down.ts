import {
  type BoundPod,
  type NodeState,
  type PendingPod,
  type ScoringStrategy,
  type Snapshot,
  schedule,
} from "@berth/scheduler";

/** A node of an autoscaled pool that the autoscaler may give back: ready, schedulable, its machine running. */
export interface DownCandidate {
  nodeId: string;
  poolId: string;
  /** Since when it has been found unneeded, or null. */
  unneededSince: Date | null;
}

export interface ScaleDownInput {
  /** The cluster as the scheduler sees it: ready nodes and the pods bound to them. */
  snapshot: Snapshot;
  candidates: readonly DownCandidate[];
  /** A bound pod as the scheduler would place it again elsewhere. */
  asPending: (podId: string) => PendingPod | undefined;
  /** Pods that may not be moved, and why (no controller to recreate them, a budget at zero, …). */
  blockers: ReadonlyMap<string, string>;
  pools: ReadonlyMap<string, { name: string; desired: number; min: number }>;
  /** A node is unneeded while its pods' requests are under this share of its capacity (cpu or memory, the larger). */
  threshold: number;
  /** How long a node stays unneeded before it goes. */
  unneededMs: number;
  now: Date;
  /** False within the cool-down after a scale-up. */
  mayRemove: boolean;
  scoringStrategy?: ScoringStrategy;
}

export interface ScaleDownPlan {
  /** Nodes unneeded now (their pods fit elsewhere). */
  unneeded: string[];
  /** Candidates that are needed, and why. */
  needed: { nodeId: string; reason: string }[];
  /** Nodes to drain and give back now. */
  remove: { nodeId: string; poolId: string; pods: number }[];
}

const percent = (x: number) => `${Math.round(x * 100)}%`;

/** The larger of the node's cpu and memory shares its pods request. */
export function utilisation(node: NodeState, pods: readonly BoundPod[]): number {
  let cpu = 0;
  let memory = 0;
  for (const p of pods) {
    cpu += p.requests.cpuMillis;
    memory += p.requests.memoryBytes;
  }
  const share = (used: number, of: number) => (of > 0 ? used / of : 0);
  return Math.max(share(cpu, node.capacity.cpuMillis), share(memory, node.capacity.memoryBytes));
}

/**
 * Which nodes the cluster can do without (the cluster autoscaler's scale-down): a candidate is
 * unneeded when its pods request less than the threshold of it and every one of them can move and
 * would be placed on the nodes that stay (the real scheduler decides, with the nodes found
 * unneeded before it gone and their pods where it put them). Nodes unneeded for `unneededMs` go,
 * outside the cool-down after a scale-up and never below their pool's minimum: every empty one at
 * once, at most one that still has pods. Pure.
 */
export function planScaleDown(input: ScaleDownInput): ScaleDownPlan {
  const nodeById = new Map(input.snapshot.nodes.map((n) => [n.id, n]));
  const podsOn = (pods: readonly BoundPod[], nodeId: string) =>
    pods.filter((p) => p.nodeId === nodeId && !p.terminating);
  let pods = [...input.snapshot.pods];
  const gone = new Set<string>();
  const unneeded: string[] = [];
  const needed: ScaleDownPlan["needed"] = [];
  const ordered = input.candidates
    .flatMap((c) => {
      const node = nodeById.get(c.nodeId);
      return node ? [{ c, node, use: utilisation(node, podsOn(pods, c.nodeId)) }] : [];
    })
    .sort((a, b) => a.use - b.use || (a.node.name < b.node.name ? -1 : a.node.name > b.node.name ? 1 : 0));

  for (const { c, use } of ordered) {
    if (use >= input.threshold) {
      needed.push({
        nodeId: c.nodeId,
        reason: `its pods request ${percent(use)} of it, not under ${percent(input.threshold)}`,
      });
      continue;
    }
    const mine = podsOn(pods, c.nodeId);
    const blocked = mine.find((p) => input.blockers.has(p.id));
    if (blocked) {
      needed.push({
        nodeId: c.nodeId,
        reason: `pod ${blocked.id} cannot move: ${input.blockers.get(blocked.id)}`,
      });
      continue;
    }
    const moving = mine.flatMap((p) => input.asPending(p.id) ?? []);
    const stays = input.snapshot.nodes.filter((n) => n.id !== c.nodeId && !gone.has(n.id));
    const rest = pods.filter((p) => p.nodeId !== c.nodeId);
    const plan =
      moving.length === 0
        ? { placements: [], unschedulable: [] }
        : schedule(
            { ...input.snapshot, nodes: stays, pods: rest },
            { pending: moving },
            {
              preemption: false,
              ...(input.scoringStrategy ? { scoringStrategy: input.scoringStrategy } : {}),
            },
          );
    const [stuck] = plan.unschedulable;
    if (stuck || moving.length < mine.length) {
      needed.push({
        nodeId: c.nodeId,
        reason: stuck
          ? `pod ${stuck.podId} would have nowhere to go: ${stuck.reason}`
          : "a pod cannot be read",
      });
      continue;
    }
    // The node is gone from here on, its pods where the scheduler put them.
    gone.add(c.nodeId);
    unneeded.push(c.nodeId);
    const placed = new Map(plan.placements.map((p) => [p.podId, p]));
    pods = pods.map((p) => {
      const to = placed.get(p.id);
      return to ? { ...p, nodeId: to.nodeId, hostPorts: to.hostPorts } : p;
    });
  }

  const remove: ScaleDownPlan["remove"] = [];
  if (input.mayRemove) {
    const left = new Map([...input.pools].map(([id, p]) => [id, p.desired - p.min]));
    let busyTaken = false;
    for (const { c } of ordered) {
      if (!unneeded.includes(c.nodeId) || c.unneededSince === null) continue;
      if (input.now.getTime() - c.unneededSince.getTime() < input.unneededMs) continue;
      const room = left.get(c.poolId) ?? 0;
      if (room <= 0) continue;
      const count = podsOn(input.snapshot.pods, c.nodeId).length;
      if (count > 0 && busyTaken) continue;
      busyTaken ||= count > 0;
      left.set(c.poolId, room - 1);
      remove.push({ nodeId: c.nodeId, poolId: c.poolId, pods: count });
    }
  }
  return { unneeded, needed, remove };
}
