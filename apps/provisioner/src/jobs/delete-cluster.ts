import type { JobPayload } from "@berth/core";
import {
  closeMeters,
  clusters,
  deployments,
  joinTokens,
  machines,
  nodes,
  persistentVolumes,
  pods,
  recordEvent,
  releaseNode,
  withTenant,
} from "@berth/db";
import { and, eq, inArray, isNull, ne } from "drizzle-orm";
import type { Deps } from "../deps";

/** "waiting": node agents are leaving; "machines": instances are being terminated; "done". */
export type DeleteProgress = "done" | "waiting" | "machines";

/**
 * Deletes a cluster in steps, each idempotent: stop every workload, ask every node agent to leave
 * (they stop their containers and confirm), release nodes that cannot confirm, then destroy the
 * cluster's key (every node credential dies with it), stop metering and leave a tombstone.
 * Returns "waiting" while agents are still leaving; the caller runs it again shortly.
 */
export async function deleteCluster(deps: Deps, p: JobPayload<"cluster.delete">): Promise<DeleteProgress> {
  return withTenant(deps.db, p.tenantId, async (tx) => {
    const [c] = await tx.select().from(clusters).where(eq(clusters.id, p.clusterId)).for("no key update");
    if (c?.status !== "deleting") return "done";
    const now = deps.now();
    const deletingSince = c.deletingAt ?? now;

    await tx
      .update(deployments)
      .set({ deletedAt: now })
      .where(and(eq(deployments.clusterId, c.id), isNull(deployments.deletedAt)));
    await tx
      .update(pods)
      .set({ deletionRequestedAt: now })
      .where(and(eq(pods.clusterId, c.id), isNull(pods.deletionRequestedAt)));
    await tx.delete(pods).where(and(eq(pods.clusterId, c.id), isNull(pods.nodeId)));
    await tx.delete(joinTokens).where(eq(joinTokens.clusterId, c.id));
    await tx
      .update(nodes)
      .set({ status: "leaving", statusReason: "the cluster is being deleted" })
      .where(and(eq(nodes.clusterId, c.id), inArray(nodes.status, ["ready", "not_ready"])));

    deps.crashpoint("delete.after-mark");
    // Machines go first: the machine controller drains nothing (the cluster is going) and
    // terminates every instance; their nodes are released as each instance is confirmed gone.
    const liveMachines = await tx
      .select({ id: machines.id })
      .from(machines)
      .where(and(eq(machines.clusterId, c.id), ne(machines.status, "terminated")));
    if (liveMachines.length > 0) return "machines";
    const graceOver = now.getTime() - deletingSince.getTime() > deps.timings.deleteGraceMs;
    const remaining = await tx
      .select()
      .from(nodes)
      .where(and(eq(nodes.clusterId, c.id), ne(nodes.status, "left")));
    let waiting = 0;
    for (const n of remaining) {
      const silent = now.getTime() - n.lastHeartbeatAt.getTime() > deps.timings.nodeLeaseMs;
      if (silent || graceOver)
        await releaseNode(
          tx,
          n.id,
          now,
          silent ? "released: the agent stopped syncing" : "released: the agent did not leave in time",
        );
      else waiting++;
    }
    if (waiting > 0) return "waiting";
    deps.crashpoint("delete.before-finalize");
    // The claims' disks go with the cluster (its VMs, which held them, are gone).
    await deps.providers["local-vm"]?.disks?.removeCluster(c.id);
    await tx.delete(persistentVolumes).where(eq(persistentVolumes.clusterId, c.id));

    await closeMeters(tx, c.id, now);
    await tx
      .update(clusters)
      .set({
        status: "deleted",
        statusReason: null,
        deletedAt: now,
        signingKeyEnc: null,
        signingPublicJwk: null,
        signingKid: null,
      })
      .where(eq(clusters.id, c.id));
    await recordEvent(tx, {
      tenantId: c.tenantId,
      clusterId: c.id,
      objectKind: "Cluster",
      objectName: c.name,
      reason: "Deleted",
      message: `deleted: every node left, signing key destroyed`,
    });
    return "done";
  });
}
