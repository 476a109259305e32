import { deployments, pods, type Tx } from "@berth/db";
import {
  budgetSelection,
  type PodDisruptionBudgetSpec,
  type PodDisruptionBudgetStatus,
  podDisruptionBudgetStatus,
} from "@berth/kube";
import { and, eq, isNull } from "drizzle-orm";
import type { ObjectRow } from "./render";

/** A PodDisruptionBudget's status from its namespace's pods as they are now (kube's disruption controller). */
export async function budgetStatusOf(tx: Tx, budget: ObjectRow): Promise<PodDisruptionBudgetStatus> {
  const spec = budget.spec as unknown as PodDisruptionBudgetSpec;
  const rows = await tx
    .select({
      labels: pods.labels,
      ready: pods.ready,
      phase: pods.phase,
      deletionRequestedAt: pods.deletionRequestedAt,
      deploymentId: pods.deploymentId,
    })
    .from(pods)
    .where(and(eq(pods.clusterId, budget.clusterId), eq(pods.namespace, budget.namespace)));
  const replicas = new Map(
    (
      await tx
        .select({ id: deployments.id, replicas: deployments.replicas })
        .from(deployments)
        .where(
          and(
            eq(deployments.clusterId, budget.clusterId),
            eq(deployments.namespace, budget.namespace),
            isNull(deployments.deletedAt),
          ),
        )
    ).map((d) => [d.id, d.replicas]),
  );
  const selection = budgetSelection(
    spec,
    rows.map((p) => ({
      labels: p.labels,
      ready: p.ready,
      gone: p.deletionRequestedAt !== null || p.phase === "Succeeded" || p.phase === "Failed",
      deploymentId: p.deploymentId,
    })),
    (id) => replicas.get(id),
  );
  return podDisruptionBudgetStatus(spec, selection);
}
