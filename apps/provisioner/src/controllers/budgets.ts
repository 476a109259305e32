import { deployments, objects } from "@berth/db";
import { budgetSelection, type PodDisruptionBudgetSpec, podDisruptionBudgetStatus } from "@berth/kube";
import type { DisruptionBudget } from "@berth/scheduler";
import { and, eq, isNull } from "drizzle-orm";
import type { LoopContext, PodRow } from "./loop";

/** A PodDisruptionBudget as evictions spend it: what the scheduler needs, and kube's healthy counts. */
export interface ClusterBudget extends DisruptionBudget {
  currentHealthy: number;
  desiredHealthy: number;
  unhealthyPodEvictionPolicy: "IfHealthyBudget" | "AlwaysAllow";
}

/**
 * The cluster's PodDisruptionBudgets as kube's disruption controller would have them now, counted
 * from `all` (every pod of the cluster that exists): for preemption and for drains.
 */
export async function clusterBudgets(ctx: LoopContext, all: readonly PodRow[]): Promise<ClusterBudget[]> {
  const budgets = await ctx.tx
    .select()
    .from(objects)
    .where(and(eq(objects.clusterId, ctx.cluster.id), eq(objects.kind, "PodDisruptionBudget")));
  if (budgets.length === 0) return [];
  const replicas = new Map(
    (
      await ctx.tx
        .select({ id: deployments.id, replicas: deployments.replicas })
        .from(deployments)
        .where(and(eq(deployments.clusterId, ctx.cluster.id), isNull(deployments.deletedAt)))
    ).map((d) => [d.id, d.replicas]),
  );
  return budgets.map((b) => {
    const spec = b.spec as unknown as PodDisruptionBudgetSpec;
    const selection = budgetSelection(
      spec,
      all
        .filter((p) => p.tenantId === b.tenantId && p.namespace === b.namespace)
        .map((p) => ({
          labels: p.labels,
          ready: p.ready,
          gone: p.deletionRequestedAt !== null || p.phase === "Succeeded" || p.phase === "Failed",
          deploymentId: p.deploymentId,
        })),
      (id) => replicas.get(id),
    );
    const status = podDisruptionBudgetStatus(spec, selection);
    return {
      tenantId: b.tenantId,
      namespace: b.namespace,
      name: b.name,
      ...(spec.selector ? { selector: spec.selector } : {}),
      disruptionsAllowed: status.disruptionsAllowed,
      currentHealthy: status.currentHealthy,
      desiredHealthy: status.desiredHealthy,
      unhealthyPodEvictionPolicy: spec.unhealthyPodEvictionPolicy ?? "IfHealthyBudget",
    };
  });
}
