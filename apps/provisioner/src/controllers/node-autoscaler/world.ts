import { INSTANCE_TYPES, type InstanceType } from "@berth/core";
import { type clusters, machines, nodePools, nodes, pods, type Tx } from "@berth/db";
import { DEFAULT_ZONE, NODE_LABELS } from "@berth/protocol";
import type { PendingPod, Snapshot } from "@berth/scheduler";
import { and, eq, ne } from "drizzle-orm";
import type { Deps } from "../../deps";
import type { MachineRow } from "../../jobs/machines";
import { clusterBudgets } from "../budgets";
import { evictionVerdict } from "../drain";
import type { LoopContext, NodeRow, PodRow } from "../loop";
import { LIVE_MACHINE, type PoolRow } from "../machine-world";
import { boundPod, clusterNamespaces, nodeState, pendingPod } from "../placement";
import { isTerminal } from "../pod-state";
import type { DownCandidate } from "./scale-down";
import type { PoolGroup } from "./scale-up";

/** The agent's default host port range: a new node's, until one of its pool says otherwise. */
const DEFAULT_PORT_RANGE = { min: 30000, max: 32767 };
/** Kubernetes' cluster autoscaler annotation: "false" keeps the pod's node. */
export const SAFE_TO_EVICT = "cluster-autoscaler.kubernetes.io/safe-to-evict";

/** What one node autoscaler pass reads of a cluster, in its transaction. */
export interface AutoscalerWorld {
  ctx: LoopContext;
  pools: PoolRow[];
  machines: MachineRow[];
  snapshot: Snapshot;
  /** Pods the scheduler found no node for (not waiting on a preemption). */
  unschedulable: PodRow[];
  podById: Map<string, PodRow>;
  groups: PoolGroup[];
  candidates: DownCandidate[];
  blockers: Map<string, string>;
  asPending: (podId: string) => PendingPod | undefined;
  /** When a machine was last added to an autoscaled pool. */
  lastScaleUp: Date | null;
}

/** Pools whose nodes Berth launches: the ones that can grow. */
const launches = (p: PoolRow) => p.provider !== "byo";

export async function readWorld(
  deps: Deps,
  tx: Tx,
  cluster: typeof clusters.$inferSelect,
): Promise<AutoscalerWorld> {
  // The pools are locked: a user's update and another pass wait for this one.
  const pools = await tx
    .select()
    .from(nodePools)
    .where(and(eq(nodePools.clusterId, cluster.id), eq(nodePools.status, "active")))
    .orderBy(nodePools.name)
    .for("update");
  const machineRows = await tx.select().from(machines).where(eq(machines.clusterId, cluster.id));
  const nodeRows = await tx
    .select()
    .from(nodes)
    .where(and(eq(nodes.clusterId, cluster.id), ne(nodes.status, "left")));
  const ctx: LoopContext = {
    deps,
    tx,
    cluster,
    now: deps.now(),
    nodeById: new Map(nodeRows.map((n) => [n.id, n])),
  };
  const all = await tx.select().from(pods).where(eq(pods.clusterId, cluster.id));
  const bound = all.filter(
    (x): x is PodRow & { nodeId: string } =>
      x.nodeId !== null && !isTerminal(x) && ctx.nodeById.has(x.nodeId),
  );
  const unschedulable = all.filter(
    (x) =>
      x.nodeId === null &&
      x.deletionRequestedAt === null &&
      x.reason === "Unschedulable" &&
      x.nominatedNodeName === null,
  );
  const budgets = await clusterBudgets(ctx, all);
  const snapshot: Snapshot = {
    nodes: nodeRows.map((n) => nodeState(n)),
    pods: bound.map(boundPod),
    namespaces: await clusterNamespaces(ctx, [...bound, ...unschedulable]),
    disruptionBudgets: budgets,
  };
  const podById = new Map(all.map((x) => [x.id, x]));
  const live = machineRows.filter((m) => LIVE_MACHINE.includes(m.status));
  const readyNode = (m: MachineRow) => (m.nodeId ? ctx.nodeById.get(m.nodeId)?.status === "ready" : false);

  const groups = pools.map((p): PoolGroup => {
    const mine = live.filter((m) => m.poolId === p.id);
    const blocked = !launches(p)
      ? "a byo pool: its machines are yours, Berth cannot add one"
      : !p.autoscalingEnabled
        ? "autoscaling is not enabled"
        : undefined;
    return {
      id: p.id,
      name: p.name,
      template: template(p, nodeRows),
      desired: p.desiredSize,
      max: p.autoscalingEnabled ? p.maxSize : p.desiredSize,
      upcoming: launches(p) ? mine.filter((m) => !readyNode(m)).length : 0,
      priority: p.autoscalingPriority,
      ...(blocked ? { blocked } : {}),
    };
  });

  const autoscaled = new Set(pools.filter((p) => p.autoscalingEnabled && launches(p)).map((p) => p.id));
  const candidates: DownCandidate[] = live.flatMap((m) => {
    const node = m.nodeId ? ctx.nodeById.get(m.nodeId) : undefined;
    if (!node || m.status !== "running" || !autoscaled.has(m.poolId)) return [];
    if (node.status !== "ready" || node.unschedulable || node.drainRequestedAt) return [];
    return [{ nodeId: node.id, poolId: m.poolId, unneededSince: node.unneededSince }];
  });
  const onCandidates = new Set(candidates.map((c) => c.nodeId));
  const blockers = new Map<string, string>();
  for (const x of bound) {
    if (!onCandidates.has(x.nodeId)) continue;
    const why = blocker(x, budgets);
    if (why) blockers.set(x.id, why);
  }
  const lastScaleUp = machineRows
    .filter((m) => autoscaled.has(m.poolId))
    .reduce<Date | null>((last, m) => (last && last > m.createdAt ? last : m.createdAt), null);
  return {
    ctx,
    pools,
    machines: machineRows,
    snapshot,
    unschedulable,
    podById,
    groups,
    candidates,
    blockers,
    asPending: (id) => {
      const x = podById.get(id);
      return x ? pendingPod(x) : undefined;
    },
    lastScaleUp,
  };
}

/** A node the pool would add, as it will join: its instance type's size, the pool's labels and taints. */
function template(p: PoolRow, nodeRows: readonly NodeRow[]): PoolGroup["template"] {
  const size = INSTANCE_TYPES[p.instanceType as InstanceType] ?? INSTANCE_TYPES.small;
  const sibling = nodeRows.find((n) => n.labels[NODE_LABELS.pool] === p.name);
  return {
    ready: true,
    unschedulable: false,
    capacity: {
      cpuMillis: size.cpuMillis,
      memoryBytes: size.memoryBytes,
      pods: size.maxPods,
      ...(size.extended ? { extended: { ...size.extended } } : {}),
    },
    labels: {
      ...p.labels,
      [NODE_LABELS.pool]: p.name,
      [NODE_LABELS.instanceType]: p.instanceType,
      [NODE_LABELS.zone]: sibling?.labels[NODE_LABELS.zone] ?? p.zone ?? DEFAULT_ZONE,
    },
    taints: p.taints,
    hostPortRange: sibling ? { min: sibling.portMin, max: sibling.portMax } : DEFAULT_PORT_RANGE,
  };
}

/** Why a pod must keep its node, or null: nothing would recreate it, its owner says so, or its budget. */
function blocker(x: PodRow, budgets: Parameters<typeof evictionVerdict>[1]): string | null {
  if (x.ownerId === null) return "no controller would recreate it (a bare pod)";
  if (x.annotations[SAFE_TO_EVICT] === "false") return `it is annotated ${SAFE_TO_EVICT}: "false"`;
  const verdict = evictionVerdict(x, budgets);
  return verdict.ok ? null : verdict.why;
}
