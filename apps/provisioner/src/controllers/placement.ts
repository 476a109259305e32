import { pods } from "@berth/db";
import { type NodeState, type PendingPod, schedule } from "@berth/scheduler";
import { and, eq, isNull } from "drizzle-orm";
import { type LoopContext, loopEvent, type NodeRow, type PodRow } from "./loop";

function nodeState(n: NodeRow): NodeState {
  return {
    id: n.id,
    name: n.name,
    ready: n.status === "ready",
    unschedulable: n.unschedulable || n.status === "leaving",
    capacity: { cpuMillis: n.cpuMillis, memoryBytes: n.memoryBytes, pods: n.maxPods },
    labels: n.labels,
    taints: n.taints,
    hostPortRange: { min: n.portMin, max: n.portMax },
  };
}

function pendingPod(x: PodRow): PendingPod {
  return {
    id: x.id,
    tenantId: x.tenantId,
    namespace: x.namespace,
    ownerId: x.deploymentId,
    requests: { cpuMillis: x.cpuMillis, memoryBytes: x.memoryBytes },
    hostPortCount: x.template.containers.reduce((n, c) => n + c.ports.length, 0),
    priority: x.template.priority,
    nodeSelector: x.template.nodeSelector,
    tolerations: x.template.tolerations,
    createdSeq: x.seq,
  };
}

/**
 * Places the cluster's pending pods with the scheduler, given the pods that hold node resources
 * (`live`: bound pods, including those still stopping). Placed pods get their node and host
 * ports; the others keep the scheduler's reason (an event when it changes).
 */
export async function placePending(
  ctx: LoopContext,
  live: readonly PodRow[],
): Promise<{ placed: number; unschedulable: number }> {
  const pending = await ctx.tx
    .select()
    .from(pods)
    .where(and(eq(pods.clusterId, ctx.cluster.id), isNull(pods.nodeId), isNull(pods.deletionRequestedAt)));
  if (pending.length === 0) return { placed: 0, unschedulable: 0 };
  const plan = schedule(
    {
      nodes: [...ctx.nodeById.values()].map(nodeState),
      pods: live
        .filter((x): x is PodRow & { nodeId: string } => x.nodeId !== null)
        .map((x) => ({
          id: x.id,
          nodeId: x.nodeId,
          requests: { cpuMillis: x.cpuMillis, memoryBytes: x.memoryBytes },
          hostPorts: x.hostPorts,
          tenantId: x.tenantId,
          namespace: x.namespace,
          ownerId: x.deploymentId,
        })),
    },
    { pending: pending.map(pendingPod) },
  );
  const pendingById = new Map(pending.map((x) => [x.id, x]));
  for (const placement of plan.placements) {
    await ctx.tx
      .update(pods)
      .set({
        nodeId: placement.nodeId,
        hostPorts: placement.hostPorts,
        scheduledAt: ctx.now,
        reason: null,
        message: null,
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
  for (const u of plan.unschedulable) {
    const pod = pendingById.get(u.podId);
    if (!pod || (pod.reason === "Unschedulable" && pod.message === u.reason)) continue;
    await ctx.tx.update(pods).set({ reason: "Unschedulable", message: u.reason }).where(eq(pods.id, u.podId));
    await loopEvent(ctx, {
      kind: "Pod",
      name: `${pod.namespace}/${pod.name}`,
      reason: "FailedScheduling",
      message: u.reason,
      type: "Warning",
    });
  }
  return { placed: plan.placements.length, unschedulable: plan.unschedulable.length };
}
