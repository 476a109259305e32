import type { JobPayload } from "@berth/core";
import { clusters, deployments, isOperational, nodes, pods, withTenant } from "@berth/db";
import { and, eq, ne } from "drizzle-orm";
import { reconcileDeploymentIsolated } from "../controllers/deployment-isolation";
import { evictLostPods } from "../controllers/eviction";
import type { LoopContext, PodRow } from "../controllers/loop";
import { placePending } from "../controllers/placement";
import type { Deps } from "../deps";

export interface ReconcileResult {
  created: number;
  removed: number;
  placed: number;
  unschedulable: number;
  evicted: number;
}

/**
 * One pass of a cluster's control loop, in one transaction with the cluster row locked, in three
 * phases as kube's controllers and Nomad's reconciler have them: replace pods of lost nodes
 * (evictLostPods), move each deployment one rollout step towards its spec (reconcileDeployment,
 * each in a savepoint: one that fails rolls back alone and carries a ReplicaFailure condition, the
 * others go on), then place pending pods with the scheduler (placePending). Level-triggered: it
 * reads the whole state and can run any number of times.
 */
export async function reconcileCluster(
  deps: Deps,
  p: JobPayload<"cluster.reconcile">,
): Promise<ReconcileResult> {
  const result: ReconcileResult = { created: 0, removed: 0, placed: 0, unschedulable: 0, evicted: 0 };
  await withTenant(deps.db, p.tenantId, async (tx) => {
    const [cluster] = await tx
      .select()
      .from(clusters)
      .where(eq(clusters.id, p.clusterId))
      .for("no key update");
    if (!cluster || !isOperational(cluster.status)) return;
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

    const eviction = await evictLostPods(
      ctx,
      await tx.select().from(pods).where(eq(pods.clusterId, cluster.id)),
    );
    result.evicted = eviction.evicted;
    const podRows = eviction.remaining;

    const created: PodRow[] = [];
    for (const d of await tx.select().from(deployments).where(eq(deployments.clusterId, cluster.id))) {
      const own = podRows.filter((x) => x.deploymentId === d.id && x.deletionRequestedAt === null);
      const step = await reconcileDeploymentIsolated(ctx, d, own);
      if (!step) continue;
      created.push(...step.created);
      result.created += step.created.length;
      result.removed += step.removed;
    }

    const live = [...podRows.filter((x) => x.deletionRequestedAt === null || x.nodeId !== null), ...created];
    const placement = await placePending(ctx, live);
    result.placed = placement.placed;
    result.unschedulable = placement.unschedulable;
  });
  return result;
}
