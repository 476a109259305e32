import type { JobPayload } from "@berth/core";
import { groupBy } from "@berth/core";
import { clusters, deployments, isOperational, nodes, objects, pods, withTenant } from "@berth/db";
import { and, eq, ne } from "drizzle-orm";
import { reconcileDeploymentIsolated } from "../controllers/deployment-failure";
import { drainNodes } from "../controllers/drain";
import { evictLostPods } from "../controllers/eviction";
import { pinDeploymentImages } from "../controllers/image-pins";
import { reconcileCronJobIsolated, reconcileJobIsolated } from "../controllers/job-failure";
import type { LoopContext, PodRow } from "../controllers/loop";
import { placePending } from "../controllers/placement";
import { isTerminal } from "../controllers/pod-state";
import type { Deps } from "../deps";

export interface ReconcileResult {
  created: number;
  removed: number;
  placed: number;
  unschedulable: number;
  evicted: number;
  /** Pods evicted from draining nodes (as their disruption budgets allowed). */
  drained: number;
  /** Pods deleted to make room for higher-priority pods (preemption's victims). */
  preempted: number;
  /** Another pass should follow at once (a deployment was rolled back). */
  pending: boolean;
}

/** A cluster's pods by the id of the controller that owns them. */
function byOwner(rows: readonly PodRow[]): (ownerId: string) => PodRow[] {
  const map = groupBy(rows, (p) => p.ownerId ?? undefined);
  return (ownerId) => map.get(ownerId) ?? [];
}

/**
 * First, outside any transaction, the tags of new revisions' images of Berth's registry are
 * resolved to digests (pinDeploymentImages). Then one pass of a cluster's control loop, in one transaction with the cluster row locked, in phases
 * as kube's controllers and Nomad's reconciler have them: replace pods of lost nodes
 * (evictLostPods); evict pods of draining nodes as their disruption budgets allow (drainNodes); move each Deployment one rollout step towards its spec (reconcileDeployment),
 * each Job towards its completions (reconcileJob), and keep each CronJob's books
 * (reconcileCronJob) — every object in its own savepoint, so one that fails rolls back alone and
 * says why while the others go on; then place pending pods with the scheduler (placePending).
 * Level-triggered: it reads the whole state and can run any number of times.
 */
export async function reconcileCluster(
  deps: Deps,
  p: JobPayload<"cluster.reconcile">,
): Promise<ReconcileResult> {
  const result: ReconcileResult = {
    created: 0,
    removed: 0,
    placed: 0,
    unschedulable: 0,
    evicted: 0,
    drained: 0,
    preempted: 0,
    pending: false,
  };
  // Network calls (the registry) happen here, before the pass's transaction, never inside it.
  await pinDeploymentImages(deps, p);
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
    const drained = await drainNodes(ctx, eviction.remaining);
    result.evicted = eviction.evicted;
    result.drained = drained.evicted;
    const podRows = drained.remaining;
    const podsOf = byOwner(podRows);

    const created: PodRow[] = [];
    for (const d of await tx.select().from(deployments).where(eq(deployments.clusterId, cluster.id))) {
      const step = await reconcileDeploymentIsolated(
        ctx,
        d,
        podRows.filter((x) => x.deploymentId === d.id),
      );
      if (!step) continue;
      created.push(...step.created);
      result.created += step.created.length;
      result.removed += step.removed;
      result.pending ||= step.pending;
    }

    const objectsOf = (kind: string) =>
      tx
        .select()
        .from(objects)
        .where(and(eq(objects.clusterId, cluster.id), eq(objects.kind, kind)));
    for (const job of await objectsOf("Job")) {
      const step = await reconcileJobIsolated(ctx, job, podsOf(job.id));
      if (!step) continue;
      created.push(...step.created);
      result.created += step.created.length;
    }
    // The CronJobs see their Jobs as this pass left them.
    const jobs = await objectsOf("Job");
    for (const cj of await objectsOf("CronJob")) await reconcileCronJobIsolated(ctx, cj, jobs);

    // Pods that hold node resources: bound and not finished (including those still stopping).
    const live = [
      ...podRows.filter((x) => !isTerminal(x) && (x.deletionRequestedAt === null || x.nodeId !== null)),
      ...created,
    ];
    const placement = await placePending(ctx, live);
    result.placed = placement.placed;
    result.unschedulable = placement.unschedulable;
    result.preempted = placement.preempted;
  });
  return result;
}
