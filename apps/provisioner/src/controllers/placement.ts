import { objects, type PodTemplate, pods } from "@berth/db";
import { podExtendedRequests, resolveAffinityLabelKeys, resolveSpreadLabelKeys } from "@berth/kube";
import { type BoundPod, type NodeState, type PendingPod, type Resources, schedule } from "@berth/scheduler";
import { and, eq, isNotNull, isNull } from "drizzle-orm";
import { clusterBudgets } from "./budgets";
import { type ClaimFacts, claimFacts } from "./claims";
import { type LoopContext, loopEvent, type NodeRow, type PodRow } from "./loop";
import { removePods } from "./pods";

export function nodeState(n: NodeRow, attachable?: ReadonlySet<string>): NodeState {
  return {
    id: n.id,
    name: n.name,
    ready: n.status === "ready",
    unschedulable: n.unschedulable || n.status === "leaving",
    capacity: {
      cpuMillis: n.cpuMillis,
      memoryBytes: n.memoryBytes,
      pods: n.maxPods,
      ...(Object.keys(n.extendedResources).length > 0 ? { extended: n.extendedResources } : {}),
    },
    labels: n.labels,
    taints: n.taints,
    hostPortRange: { min: n.portMin, max: n.portMax },
    reservedHostPorts: n.reservedHostPorts,
    ...(attachable?.has(n.id) ? { attachableDisks: true } : {}),
  };
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * Why a pod's stored template cannot be handed to the scheduler, or null. Admission makes these
 * impossible; a row written past it must cost that pod its placement, not the cluster its loop.
 */
function templateProblem(template: unknown): string | null {
  const t = template as Partial<PodTemplate> | null;
  if (!isObject(t) || !Array.isArray(t.containers)) return "the pod template has no list of containers";
  if (!t.containers.every((c) => isObject(c) && Array.isArray(c.ports)))
    return "a container has no list of ports";
  if (!isObject(t.nodeSelector) || !Object.values(t.nodeSelector).every((v) => typeof v === "string"))
    return "nodeSelector is not a map of strings";
  if (!Array.isArray(t.tolerations) || !t.tolerations.every((x) => isObject(x) && typeof x.key === "string"))
    return "tolerations is not a list of tolerations";
  if (t.affinity !== undefined && !isObject(t.affinity)) return "affinity is not an object";
  if (t.topologySpreadConstraints !== undefined && !Array.isArray(t.topologySpreadConstraints))
    return "topologySpreadConstraints is not a list";
  return null;
}

/** What a pod holds of a node: its requests, extended resources (`berth.dev/gpu`) included. */
function requestsOf(x: PodRow): Resources {
  const t = x.template as Partial<PodTemplate>;
  const extended = Array.isArray(t.containers)
    ? podExtendedRequests({
        containers: t.containers,
        ...(t.initContainers ? { initContainers: t.initContainers } : {}),
      })
    : undefined;
  return { cpuMillis: x.cpuMillis, memoryBytes: x.memoryBytes, ...(extended ? { extended } : {}) };
}

export function pendingPod(x: PodRow, claims?: ClaimFacts): PendingPod {
  const volumeClaims = claims?.claimsOf(x);
  return {
    id: x.id,
    tenantId: x.tenantId,
    namespace: x.namespace,
    ownerId: x.ownerId ?? x.id,
    requests: requestsOf(x),
    hostPortCount: x.template.containers.reduce((n, c) => n + c.ports.length, 0),
    priority: x.template.priority,
    nodeSelector: x.template.nodeSelector,
    tolerations: x.template.tolerations.map((t) => ({ ...t, key: t.key ?? "" })),
    createdSeq: x.seq,
    labels: x.labels,
    ...(x.template.preemptionPolicy ? { preemptionPolicy: x.template.preemptionPolicy } : {}),
    ...(x.nominatedNodeName ? { nominatedNodeName: x.nominatedNodeName } : {}),
    ...(x.template.affinity ? { affinity: resolveAffinityLabelKeys(x.template.affinity, x.labels) } : {}),
    ...(x.template.topologySpreadConstraints
      ? { topologySpreadConstraints: resolveSpreadLabelKeys(x.template.topologySpreadConstraints, x.labels) }
      : {}),
    ...(volumeClaims ? { volumeClaims } : {}),
  };
}

/**
 * A pod that holds node resources, as the scheduler sees it: its labels (for spread and pod
 * affinity terms of others), its own affinity (its required anti-affinity keeps matching pods
 * away), its priority, and whether it is going away (kube's deletionTimestamp).
 */
export function boundPod(x: PodRow & { nodeId: string }): BoundPod {
  const t = x.template as Partial<PodTemplate>;
  return {
    id: x.id,
    nodeId: x.nodeId,
    requests: requestsOf(x),
    hostPorts: x.hostPorts,
    tenantId: x.tenantId,
    namespace: x.namespace,
    ownerId: x.ownerId ?? x.id,
    labels: x.labels,
    ...(isObject(t.affinity) ? { affinity: resolveAffinityLabelKeys(t.affinity, x.labels) } : {}),
    priority: typeof t.priority === "number" && Number.isFinite(t.priority) ? t.priority : 0,
    startedSeq: x.startedAt?.getTime() ?? x.seq,
    terminating: x.deletionRequestedAt !== null,
  };
}

/**
 * The cluster's namespaces with their labels, for the namespaceSelector of pod (anti-)affinity
 * terms. Every namespace carries `kubernetes.io/metadata.name`, as in kube, even one with no object yet.
 */
export async function clusterNamespaces(ctx: Pick<LoopContext, "tx" | "cluster">, of: readonly PodRow[]) {
  const namespaces = await ctx.tx
    .select({ tenantId: objects.tenantId, name: objects.name, labels: objects.labels })
    .from(objects)
    .where(and(eq(objects.clusterId, ctx.cluster.id), eq(objects.kind, "Namespace")));
  const known = new Set(namespaces.map((n) => `${n.tenantId}/${n.name}`));
  for (const x of of) {
    const key = `${x.tenantId}/${x.namespace}`;
    if (known.has(key)) continue;
    known.add(key);
    namespaces.push({
      tenantId: x.tenantId,
      name: x.namespace,
      labels: { "kubernetes.io/metadata.name": x.namespace },
    });
  }
  return namespaces;
}

/**
 * Places the cluster's pending pods with the scheduler, given the pods that hold node resources
 * (`live`: bound pods, including those still stopping). Placed pods get their node and host
 * ports; the others keep the scheduler's reason (an event when it changes). A pod that fits
 * nowhere may preempt lower-priority pods on one node, as kube's DefaultPreemption does: the
 * victims are deleted gracefully (their node stops them with their grace period), each gets a
 * `Preempted` event, and the pod records the node as its `nominatedNodeName` until it is placed.
 */
export async function placePending(
  ctx: LoopContext,
  live: readonly PodRow[],
): Promise<{ placed: number; unschedulable: number; preempted: number }> {
  const waiting = await ctx.tx
    .select()
    .from(pods)
    .where(and(eq(pods.clusterId, ctx.cluster.id), isNull(pods.nodeId), isNull(pods.deletionRequestedAt)));
  if (waiting.length === 0) return { placed: 0, unschedulable: 0, preempted: 0 };
  const invalid = waiting.flatMap((x) => {
    const problem = templateProblem(x.template);
    return problem ? [{ podId: x.id, reason: `invalid pod spec: ${problem}` }] : [];
  });
  const invalidIds = new Set(invalid.map((u) => u.podId));
  const pending = waiting.filter((x) => !invalidIds.has(x.id));
  const namespaces = await clusterNamespaces(ctx, [...live, ...pending]);
  // `live` was read at the start of the pass: pods its controllers marked for deletion since are
  // terminating too (never counted by spread or budgets, never chosen as victims).
  const stopping = new Set(
    (
      await ctx.tx
        .select({ id: pods.id })
        .from(pods)
        .where(and(eq(pods.clusterId, ctx.cluster.id), isNotNull(pods.deletionRequestedAt)))
    ).map((r) => r.id),
  );
  const current = live.map((x) =>
    x.deletionRequestedAt === null && stopping.has(x.id) ? { ...x, deletionRequestedAt: ctx.now } : x,
  );
  const claims = await claimFacts(ctx);
  const plan = schedule(
    {
      nodes: [...ctx.nodeById.values()].map((n) => nodeState(n, claims.attachable)),
      pods: current.filter((x): x is PodRow & { nodeId: string } => x.nodeId !== null).map(boundPod),
      namespaces,
      disruptionBudgets: await clusterBudgets(ctx, [...current, ...waiting]),
    },
    { pending: pending.map((x) => pendingPod(x, claims)) },
    { preemption: true, scoringStrategy: ctx.cluster.scheduling.scoringStrategy },
  );
  const pendingById = new Map(waiting.map((x) => [x.id, x]));
  for (const placement of plan.placements) {
    await ctx.tx
      .update(pods)
      .set({
        nodeId: placement.nodeId,
        hostPorts: placement.hostPorts,
        scheduledAt: ctx.now,
        reason: null,
        message: null,
        nominatedNodeName: null,
      })
      .where(and(eq(pods.id, placement.podId), isNull(pods.nodeId)));
    const pod = pendingById.get(placement.podId);
    const node = ctx.nodeById.get(placement.nodeId);
    if (pod && node)
      await loopEvent(ctx, {
        kind: "Pod",
        name: `${pod.namespace}/${pod.name}`,
        reason: "Scheduled",
        message: `assigned to ${node.name}`,
      });
  }
  const liveById = new Map(current.map((x) => [x.id, x]));
  for (const p of plan.preemptions) {
    const preemptor = pendingById.get(p.podId);
    if (!preemptor) continue;
    const victims = p.victims.flatMap((id) => liveById.get(id) ?? []);
    await removePods(ctx, victims);
    for (const v of victims)
      await loopEvent(ctx, {
        kind: "Pod",
        name: `${v.namespace}/${v.name}`,
        reason: "Preempted",
        message: `Preempted by pod ${preemptor.id} on node ${p.nominatedNodeName}`,
      });
    await ctx.tx
      .update(pods)
      .set({ nominatedNodeName: p.nominatedNodeName, reason: "Unschedulable", message: p.reason })
      .where(eq(pods.id, p.podId));
    if (preemptor.reason !== "Unschedulable" || preemptor.message !== p.reason)
      await loopEvent(ctx, {
        kind: "Pod",
        name: `${preemptor.namespace}/${preemptor.name}`,
        reason: "FailedScheduling",
        message: p.reason,
        type: "Warning",
      });
  }
  const unschedulable: { podId: string; reason: string; nominatedNodeName?: string }[] = [
    ...plan.unschedulable,
    ...invalid,
  ];
  for (const u of unschedulable) {
    const pod = pendingById.get(u.podId);
    if (!pod) continue;
    // A pod that keeps its nomination says so; any other loses one it had, as in kube.
    const nominated = u.nominatedNodeName ?? null;
    const sameReason = pod.reason === "Unschedulable" && pod.message === u.reason;
    if (sameReason && pod.nominatedNodeName === nominated) continue;
    await ctx.tx
      .update(pods)
      .set({ reason: "Unschedulable", message: u.reason, nominatedNodeName: nominated })
      .where(eq(pods.id, u.podId));
    if (sameReason) continue;
    await loopEvent(ctx, {
      kind: "Pod",
      name: `${pod.namespace}/${pod.name}`,
      reason: "FailedScheduling",
      message: u.reason,
      type: "Warning",
    });
  }
  return {
    placed: plan.placements.length,
    unschedulable: unschedulable.length,
    preempted: plan.preemptions.reduce((n, p) => n + p.victims.length, 0),
  };
}
