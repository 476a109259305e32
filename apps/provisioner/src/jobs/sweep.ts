import {
  clusters,
  deployments,
  machines,
  nodePools,
  nodes,
  objects,
  pods,
  recordEvents,
  withSystem,
} from "@berth/db";
import { and, eq, inArray, lt, ne, or, sql } from "drizzle-orm";
import type { Deps } from "../deps";
import { syncCronSchedulers } from "./cron-schedulers";

/**
 * The periodic safety net of every control loop: lapses the lease of silent nodes, makes sure
 * each cluster that needs work (one being provisioned, updated or deleted, or an active one with
 * nodes or workloads) has a job — so that a lost enqueue (a crash between commit and
 * enqueue) or a lost job delays work by one sweep and never loses it — and keeps the CronJobs'
 * job schedulers in step with the CronJobs (restoring lost ones, firing missed schedules once).
 * Reads across tenants.
 */
export async function sweep(deps: Deps): Promise<{ lapsed: number; clusters: number }> {
  const now = deps.now();
  const leaseCutoff = new Date(now.getTime() - deps.timings.nodeLeaseMs);
  const work = await withSystem(deps.db, async (tx) => {
    const lapsed = await tx
      .update(nodes)
      .set({
        status: "not_ready",
        statusReason: `no sync for ${Math.round(deps.timings.nodeLeaseMs / 1000)} s: lease expired`,
      })
      .where(and(eq(nodes.status, "ready"), lt(nodes.lastHeartbeatAt, leaseCutoff)))
      .returning({ tenantId: nodes.tenantId, clusterId: nodes.clusterId, name: nodes.name });
    await recordEvents(
      tx,
      lapsed.map((n) => ({
        tenantId: n.tenantId,
        clusterId: n.clusterId,
        objectKind: "Node",
        objectName: n.name,
        type: "Warning" as const,
        reason: "NodeNotReady",
        message: "the node agent stopped syncing; its pods are replaced if it does not come back",
      })),
    );
    // An active cluster with nothing its loops manage (no node pool, machine, node, pod,
    // Deployment, Job, CronJob or PersistentVolumeClaim) has nothing to reconcile: idle clusters cost no periodic work,
    // however many there are.
    const managesSomething = sql`(
      exists (select 1 from ${nodePools} where ${nodePools.clusterId} = ${clusters.id} and ${nodePools.status} <> 'deleted')
      or exists (select 1 from ${machines} where ${machines.clusterId} = ${clusters.id} and ${machines.status} <> 'terminated')
      or exists (select 1 from ${nodes} where ${nodes.clusterId} = ${clusters.id} and ${nodes.status} <> 'left')
      or exists (select 1 from ${pods} where ${pods.clusterId} = ${clusters.id})
      or exists (select 1 from ${deployments} where ${deployments.clusterId} = ${clusters.id})
      or exists (select 1 from ${objects} where ${objects.clusterId} = ${clusters.id}
                   and ${objects.kind} in ('Job', 'CronJob', 'PersistentVolumeClaim')))`;
    const open = await tx
      .select({ id: clusters.id, tenantId: clusters.tenantId, status: clusters.status })
      .from(clusters)
      .where(
        or(
          inArray(clusters.status, ["provisioning", "updating", "deleting"]),
          and(eq(clusters.status, "active"), managesSomething),
        ),
      );
    const pooled = await tx
      .selectDistinct({ clusterId: machines.clusterId })
      .from(machines)
      .where(ne(machines.status, "terminated"));
    const pools = await tx
      .selectDistinct({ clusterId: nodePools.clusterId })
      .from(nodePools)
      .where(ne(nodePools.status, "deleted"));
    return {
      lapsed: lapsed.length,
      open,
      withMachines: new Set([...pooled, ...pools].map((r) => r.clusterId)),
    };
  });
  for (const c of work.open) {
    const ref = { tenantId: c.tenantId, clusterId: c.id };
    if (c.status === "provisioning") await deps.queues.enqueue("cluster.provision", ref);
    else if (c.status === "deleting") await deps.queues.enqueue("cluster.delete", ref);
    else if (c.status === "updating") await deps.queues.enqueue("cluster.rotate-key", ref);
    else await deps.queues.enqueue("cluster.reconcile", ref);
    if (c.status !== "provisioning" && work.withMachines.has(c.id))
      await deps.queues.enqueue("machines.reconcile", ref);
  }
  try {
    await syncCronSchedulers(deps);
  } catch (err) {
    // The leases and clusters above are done; the schedulers are tried again on the next sweep.
    deps.logger.warn({ err }, "cron job schedulers not synced");
  }
  return { lapsed: work.lapsed, clusters: work.open.length };
}
