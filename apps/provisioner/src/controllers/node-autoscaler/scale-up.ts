import {
  type BoundPod,
  type NodeState,
  type PendingPod,
  type Placement,
  type Plan,
  type ScoringStrategy,
  type Snapshot,
  schedule,
} from "@berth/scheduler";

/** An autoscaled node pool as a scale-up sees it. */
export interface PoolGroup {
  id: string;
  name: string;
  /** A node the pool would add (its id, name and hostname label are made per node). */
  template: Omit<NodeState, "id" | "name">;
  desired: number;
  max: number;
  /** Machines counted in `desired` whose nodes have not joined yet: nodes on their way. */
  upcoming: number;
  priority: number;
  /** Why the pool cannot grow now (a launch refused for good), or undefined. */
  blocked?: string;
}

export type Expander = "least-waste" | "priority";

export interface ScaleUpInput {
  /** The cluster as the scheduler sees it: ready nodes, bound pods, namespaces, budgets. */
  snapshot: Snapshot;
  /** Pods the scheduler found no node for. */
  pending: readonly PendingPod[];
  groups: readonly PoolGroup[];
  expander: Expander;
  scoringStrategy?: ScoringStrategy;
}

export interface ScaleUp {
  poolId: string;
  from: number;
  to: number;
  /** The pending pods the new nodes are for. */
  podIds: string[];
  /** Least-waste's score: the unused share of the new nodes' cpu plus that of their memory (0..2). */
  waste: number;
}

export interface ScaleUpPlan {
  scaleUps: ScaleUp[];
  /** Pending pods that no pool can help, each with every pool's reason. */
  notTriggered: { podId: string; reason: string }[];
  /** Pending pods that fit on nodes that are on their way (or, by now, on existing ones). */
  waiting: string[];
}

const HOSTNAME = "kubernetes.io/hostname";

function templateNodes(g: PoolGroup, from: number, count: number): NodeState[] {
  return Array.from({ length: count }, (_, i) => {
    const name = `${g.name}-template-${from + i}`;
    return {
      ...g.template,
      id: `template:${g.id}:${from + i}`,
      name,
      labels: { ...g.template.labels, [HOSTNAME]: name },
    };
  });
}

/**
 * Which pools to grow, and by how many nodes, for pods no node fits (the cluster autoscaler's
 * scale-up, with its binpacking estimator): nodes on their way count as there; for each pool that
 * may grow, the fewest new nodes that take as many of the pods as its maximum would; the expander
 * picks one option (least-waste: the least unused cpu and memory share of the new nodes; priority:
 * the highest-priority pools first, least-waste among them; ties go to more pods, then the pool's
 * name), and the pods it takes are set aside until no pod is left or no pool helps. Every estimate
 * is the real scheduler's plan, so filters (taints, selectors, affinity, spread, ports, extended
 * resources) are what they will be when the nodes join. Pure.
 */
export function planScaleUp(input: ScaleUpInput): ScaleUpPlan {
  const groups = input.groups.map((g) => ({ ...g }));
  const byId = new Map(input.pending.map((p) => [p.id, p]));
  // Pods this estimate has put somewhere already: on nodes on their way, or on the new nodes of a
  // chosen option. Later runs see them there.
  const assumed: BoundPod[] = [];
  const assume = (placements: readonly Placement[]) => {
    for (const x of placements) {
      const p = byId.get(x.podId);
      if (p) assumed.push(asBound(p, x));
    }
  };
  const run = (nodes: NodeState[], pending: readonly PendingPod[]): Plan =>
    schedule(
      {
        ...input.snapshot,
        nodes: [...input.snapshot.nodes, ...nodes],
        pods: [...input.snapshot.pods, ...assumed],
      },
      { pending: [...pending] },
      { preemption: false, ...(input.scoringStrategy ? { scoringStrategy: input.scoringStrategy } : {}) },
    );
  const onTheirWay = () => groups.flatMap((g) => templateNodes(g, 0, g.upcoming));

  const base = run(onTheirWay(), input.pending);
  assume(base.placements);
  const unplaced = new Set(base.unschedulable.map((u) => u.podId));
  let left = input.pending.filter((p) => unplaced.has(p.id));
  const waiting = input.pending.filter((p) => !unplaced.has(p.id)).map((p) => p.id);
  const scaleUps: ScaleUp[] = [];
  const why = new Map<string, Map<string, string>>();

  while (left.length > 0) {
    const upcoming = onTheirWay();
    const options: (ScaleUp & { priority: number; name: string; placements: Placement[] })[] = [];
    for (const g of groups) {
      const room = g.max - g.desired;
      const note = (podIds: readonly string[], reason: string) => {
        for (const id of podIds) why.set(id, (why.get(id) ?? new Map()).set(g.name, reason));
      };
      if (g.blocked) {
        note(
          left.map((p) => p.id),
          g.blocked,
        );
        continue;
      }
      if (room <= 0) {
        note(
          left.map((p) => p.id),
          `max size reached (${g.max})`,
        );
        continue;
      }
      const helped = (k: number) => {
        const fresh = templateNodes(g, g.upcoming, k);
        const freshIds = new Set(fresh.map((n) => n.id));
        const plan = run([...upcoming, ...fresh], left);
        return plan.placements.filter((p) => freshIds.has(p.nodeId));
      };
      const most = helped(room);
      if (most.length === 0) {
        // Why one new node of this pool would not do, as the scheduler says it.
        const alone = schedule(
          { ...input.snapshot, nodes: templateNodes(g, 0, 1) },
          { pending: [...left] },
          { preemption: false },
        );
        for (const u of alone.unschedulable)
          note([u.podId], u.reason.replace(/^0\/1 nodes are available: 1 /, ""));
        continue;
      }
      // The fewest nodes that take as many pods as `room` nodes do (more nodes never take fewer).
      let lo = 1;
      let hi = room;
      let best = most;
      while (lo < hi) {
        const mid = Math.floor((lo + hi) / 2);
        const got = helped(mid);
        if (got.length >= most.length) {
          hi = mid;
          best = got;
        } else lo = mid + 1;
      }
      options.push({
        poolId: g.id,
        from: g.desired,
        to: g.desired + hi,
        podIds: best.map((p) => p.podId),
        waste: waste(
          g,
          hi,
          left,
          best.map((p) => p.podId),
        ),
        priority: g.priority,
        name: g.name,
        placements: best,
      });
    }
    const chosen = pick(options, input.expander);
    if (!chosen) break;
    const g = groups.find((x) => x.id === chosen.poolId);
    if (!g) break;
    const added = chosen.to - chosen.from;
    g.desired += added;
    g.upcoming += added;
    const existing = scaleUps.find((s) => s.poolId === g.id);
    if (existing) {
      existing.to = chosen.to;
      existing.podIds.push(...chosen.podIds);
    } else
      scaleUps.push({
        poolId: chosen.poolId,
        from: chosen.from,
        to: chosen.to,
        podIds: chosen.podIds,
        waste: chosen.waste,
      });
    assume(chosen.placements);
    const taken = new Set(chosen.podIds);
    left = left.filter((p) => !taken.has(p.id));
  }
  return {
    scaleUps,
    waiting,
    notTriggered: left.map((p) => ({
      podId: p.id,
      reason: [...(why.get(p.id) ?? new Map<string, string>())]
        .map(([pool, reason]) => `${pool}: ${reason}`)
        .join("; "),
    })),
  };
}

/** A pod as placed by an estimate, holding its node's resources for the estimates after it. */
function asBound(p: PendingPod, x: Placement): BoundPod {
  return {
    id: p.id,
    nodeId: x.nodeId,
    requests: p.requests,
    hostPorts: x.hostPorts,
    tenantId: p.tenantId,
    namespace: p.namespace,
    ...(p.ownerId ? { ownerId: p.ownerId } : {}),
    ...(p.labels ? { labels: p.labels } : {}),
    ...(p.affinity ? { affinity: p.affinity } : {}),
    priority: p.priority,
    startedSeq: p.createdSeq,
  };
}

/** The unused share of `k` new nodes' cpu, plus that of their memory, once `podIds` are on them. */
function waste(g: PoolGroup, k: number, pods: readonly PendingPod[], podIds: readonly string[]): number {
  const taken = new Set(podIds);
  let cpu = 0;
  let memory = 0;
  for (const p of pods)
    if (taken.has(p.id)) {
      cpu += p.requests.cpuMillis;
      memory += p.requests.memoryBytes;
    }
  const share = (used: number, each: number) => (each > 0 ? (k * each - used) / (k * each) : 0);
  return share(cpu, g.template.capacity.cpuMillis) + share(memory, g.template.capacity.memoryBytes);
}

function pick<T extends ScaleUp & { priority: number; name: string }>(
  options: readonly T[],
  expander: Expander,
): T | undefined {
  return [...options].sort(
    (a, b) =>
      (expander === "priority" ? b.priority - a.priority : 0) ||
      a.waste - b.waste ||
      b.podIds.length - a.podIds.length ||
      (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  )[0];
}
