import { clusters, nodePools, withSystem } from "@berth/db";
import { and, eq, inArray } from "drizzle-orm";
import { autoscaleNodes } from "../controllers/node-autoscaler";
import type { Deps } from "../deps";

/**
 * Every scan interval (the cluster autoscaler's 10 s; NODE_AUTOSCALER_INTERVAL_MS), one node
 * autoscaler pass over each operational cluster with an autoscaled pool, each in a transaction of
 * its own tenant: one that fails says why in the log and the others go on.
 */
export async function autoscaleAllNodes(
  deps: Deps,
): Promise<{ clusters: number; added: number; removed: number; failed: number }> {
  const list = await withSystem(deps.db, (tx) =>
    tx
      .selectDistinct({ tenantId: clusters.tenantId, clusterId: clusters.id })
      .from(nodePools)
      .innerJoin(clusters, eq(clusters.id, nodePools.clusterId))
      .where(
        and(
          eq(nodePools.autoscalingEnabled, true),
          eq(nodePools.status, "active"),
          inArray(clusters.status, ["active", "updating"]),
        ),
      ),
  );
  const total = { clusters: list.length, added: 0, removed: 0, failed: 0 };
  for (const ref of list) {
    try {
      const r = await autoscaleNodes(deps, ref);
      total.added += r.added;
      total.removed += r.removed;
    } catch (err) {
      total.failed++;
      deps.logger.warn({ err, clusterId: ref.clusterId }, "node autoscaler pass failed");
    }
  }
  return total;
}
