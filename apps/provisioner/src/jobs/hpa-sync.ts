import { clusters, objects, withSystem, withTenant } from "@berth/db";
import { and, eq, inArray, isNull } from "drizzle-orm";
import { reconcileAutoscaler } from "../controllers/autoscaler";
import type { Deps } from "../deps";

/**
 * Every sync period (kube's 15 s; HPA_SYNC_PERIOD_MS), one pass over every HorizontalPodAutoscaler
 * of every operational cluster: each in a transaction of its own tenant, so that one failing HPA
 * says why in the log and the others go on. A cluster whose deployment was scaled gets a reconcile.
 * Idempotent: a pass reads everything it needs and writes what it decided in one transaction.
 */
export async function syncAutoscalers(
  deps: Deps,
): Promise<{ autoscalers: number; scaled: number; failed: number }> {
  const list = await withSystem(deps.db, (tx) =>
    tx
      .select({ id: objects.id, tenantId: objects.tenantId, clusterId: objects.clusterId })
      .from(objects)
      .innerJoin(clusters, eq(clusters.id, objects.clusterId))
      .where(
        and(
          eq(objects.kind, "HorizontalPodAutoscaler"),
          isNull(objects.deletionTimestamp),
          inArray(clusters.status, ["active", "updating"]),
        ),
      ),
  );
  const toReconcile = new Map<string, { tenantId: string; clusterId: string }>();
  let scaled = 0;
  let failed = 0;
  for (const h of list) {
    try {
      if (await withTenant(deps.db, h.tenantId, (tx) => reconcileAutoscaler(deps, tx, h.id))) {
        scaled++;
        toReconcile.set(h.clusterId, { tenantId: h.tenantId, clusterId: h.clusterId });
      }
    } catch (err) {
      failed++;
      deps.logger.warn({ err, hpa: h.id, clusterId: h.clusterId }, "horizontal pod autoscaler pass failed");
    }
  }
  for (const ref of toReconcile.values()) await deps.queues.enqueue("cluster.reconcile", ref);
  return { autoscalers: list.length, scaled, failed };
}
