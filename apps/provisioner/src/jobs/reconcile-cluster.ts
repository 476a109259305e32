import { randomBytes } from "node:crypto";
import { type JobPayload, newId } from "@berth/core";
import {
  closeMeters,
  clusters,
  deployments,
  isOperational,
  nodes,
  podRequests,
  pods,
  recordEvent,
  type Tx,
  withTenant,
} from "@berth/db";
import { type NodeState, schedule } from "@berth/scheduler";
import { and, eq, inArray, isNull, ne } from "drizzle-orm";
import { planRollout } from "../controllers/rollout";
import type { Deps } from "../deps";

type PodRow = typeof pods.$inferSelect;
type NodeRow = typeof nodes.$inferSelect;

export interface ReconcileResult {
  created: number;
  removed: number;
  placed: number;
  unschedulable: number;
  evicted: number;
}

/** Marks pods for removal; pods never placed, or on a node that is gone, are removed at once. */
async function removePods(
  tx: Tx,
  victims: PodRow[],
  nodeById: Map<string, NodeRow>,
  now: Date,
): Promise<void> {
  const immediate = victims.filter(
    (p) => !p.nodeId || nodeById.get(p.nodeId)?.status === "left" || !nodeById.has(p.nodeId),
  );
  const viaAgent = victims.filter((p) => !immediate.includes(p));
  for (const p of immediate) await closeMeters(tx, p.id, now);
  if (immediate.length > 0)
    await tx.delete(pods).where(
      inArray(
        pods.id,
        immediate.map((p) => p.id),
      ),
    );
  if (viaAgent.length > 0)
    await tx
      .update(pods)
      .set({ deletionRequestedAt: now, ready: false })
      .where(
        inArray(
          pods.id,
          viaAgent.map((p) => p.id),
        ),
      );
}

/**
 * One pass of a cluster's control loop, in one transaction with the cluster row locked: replace pods
 * of lost nodes, move each deployment one rollout step towards its spec, then place pending pods
 * with the scheduler. Level-triggered: it reads the whole state and can run any number of times.
 */
export async function reconcileCluster(
  deps: Deps,
  p: JobPayload<"cluster.reconcile">,
): Promise<ReconcileResult> {
  const result: ReconcileResult = { created: 0, removed: 0, placed: 0, unschedulable: 0, evicted: 0 };
  await withTenant(deps.db, p.tenantId, async (tx) => {
    const [cluster] = await tx.select().from(clusters).where(eq(clusters.id, p.clusterId)).for("update");
    if (!cluster || !isOperational(cluster.status)) return;
    const now = deps.now();
    const event = (
      kind: string,
      name: string,
      reason: string,
      message: string,
      type: "Normal" | "Warning" = "Normal",
    ) =>
      recordEvent(tx, {
        tenantId: cluster.tenantId,
        clusterId: cluster.id,
        objectKind: kind,
        objectName: name,
        type,
        reason,
        message,
      });

    const nodeRows = await tx
      .select()
      .from(nodes)
      .where(and(eq(nodes.clusterId, cluster.id), ne(nodes.status, "left")));
    const nodeById = new Map(nodeRows.map((n) => [n.id, n]));
    let podRows = await tx.select().from(pods).where(eq(pods.clusterId, cluster.id));

    // 1. Pods on nodes that have been silent past the eviction timeout are replaced elsewhere. Their
    //    rows go now; if the agent comes back it is told to stop what it still runs.
    const lost = podRows.filter((pod) => {
      const n = pod.nodeId ? nodeById.get(pod.nodeId) : undefined;
      return (
        n?.status === "not_ready" && now.getTime() - n.lastHeartbeatAt.getTime() > deps.timings.podEvictionMs
      );
    });
    if (lost.length > 0) {
      for (const pod of lost) await closeMeters(tx, pod.id, now);
      await tx.delete(pods).where(
        inArray(
          pods.id,
          lost.map((x) => x.id),
        ),
      );
      const lostIds = new Set(lost.map((x) => x.id));
      podRows = podRows.filter((x) => !lostIds.has(x.id));
      result.evicted = lost.length;
      await event(
        "Cluster",
        cluster.name,
        "PodsEvicted",
        `${lost.length} pod(s) of unreachable nodes will be replaced`,
        "Warning",
      );
    }

    // 2. Deployments, one rollout step each.
    const deploymentRows = await tx.select().from(deployments).where(eq(deployments.clusterId, cluster.id));
    const created: PodRow[] = [];
    for (const d of deploymentRows) {
      const own = podRows.filter((x) => x.deploymentId === d.id && x.deletionRequestedAt === null);
      if (d.deletedAt) {
        if (own.length > 0) {
          await removePods(tx, own, nodeById, now);
          result.removed += own.length;
        }
        continue;
      }
      const step = planRollout(
        { replicas: d.replicas, templateHash: d.templateHash, ...d.template.rollout },
        own.map((x) => ({
          id: x.id,
          templateHash: x.templateHash,
          ready: x.ready,
          scheduled: x.nodeId !== null,
          seq: x.seq,
        })),
      );
      if (step.remove.length > 0) {
        const ids = new Set(step.remove);
        await removePods(
          tx,
          own.filter((x) => ids.has(x.id)),
          nodeById,
          now,
        );
        result.removed += step.remove.length;
      }
      if (step.create > 0) {
        const requests = podRequests(d.template);
        const rows = await tx
          .insert(pods)
          .values(
            Array.from({ length: step.create }, () => ({
              id: newId("pod"),
              tenantId: d.tenantId,
              clusterId: d.clusterId,
              deploymentId: d.id,
              namespace: d.namespace,
              name: `${d.name}-${d.templateHash.slice(0, 8)}-${randomBytes(3).toString("hex").slice(0, 5)}`,
              templateHash: d.templateHash,
              template: d.template,
              cpuMillis: requests.cpuMillis,
              memoryBytes: requests.memoryBytes,
            })),
          )
          .returning();
        created.push(...rows);
        result.created += rows.length;
      }
      const remaining = own.filter((x) => !step.remove.includes(x.id));
      const status = {
        observedGeneration: d.generation,
        readyReplicas: remaining.filter((x) => x.ready).length,
        updatedReplicas: remaining.filter((x) => x.templateHash === d.templateHash).length + step.create,
      };
      if (
        status.observedGeneration !== d.observedGeneration ||
        status.readyReplicas !== d.readyReplicas ||
        status.updatedReplicas !== d.updatedReplicas
      )
        await tx.update(deployments).set(status).where(eq(deployments.id, d.id));
    }

    // 3. Place pending pods.
    const live = [...podRows.filter((x) => x.deletionRequestedAt === null || x.nodeId !== null), ...created];
    const pending = await tx
      .select()
      .from(pods)
      .where(and(eq(pods.clusterId, cluster.id), isNull(pods.nodeId), isNull(pods.deletionRequestedAt)));
    if (pending.length === 0) return;
    const snapshotNodes: NodeState[] = nodeRows.map((n) => ({
      id: n.id,
      name: n.name,
      ready: n.status === "ready",
      unschedulable: n.unschedulable || n.status === "leaving",
      capacity: { cpuMillis: n.cpuMillis, memoryBytes: n.memoryBytes, pods: n.maxPods },
      labels: n.labels,
      taints: n.taints,
      hostPortRange: { min: n.portMin, max: n.portMax },
      reservedHostPorts: n.reservedHostPorts,
    }));
    const plan = schedule(
      {
        nodes: snapshotNodes,
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
      {
        pending: pending.map((x) => ({
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
        })),
      },
    );
    const pendingById = new Map(pending.map((x) => [x.id, x]));
    for (const placement of plan.placements) {
      await tx
        .update(pods)
        .set({
          nodeId: placement.nodeId,
          hostPorts: placement.hostPorts,
          scheduledAt: now,
          reason: null,
          message: null,
        })
        .where(and(eq(pods.id, placement.podId), isNull(pods.nodeId)));
      const pod = pendingById.get(placement.podId);
      const node = nodeById.get(placement.nodeId);
      if (pod && node)
        await event("Pod", `${pod.namespace}/${pod.name}`, "Scheduled", `assigned to ${node.name}`);
      result.placed++;
    }
    for (const u of plan.unschedulable) {
      const pod = pendingById.get(u.podId);
      result.unschedulable++;
      if (!pod || (pod.reason === "Unschedulable" && pod.message === u.reason)) continue;
      await tx.update(pods).set({ reason: "Unschedulable", message: u.reason }).where(eq(pods.id, u.podId));
      await event("Pod", `${pod.namespace}/${pod.name}`, "FailedScheduling", u.reason, "Warning");
    }
  });
  return result;
}
