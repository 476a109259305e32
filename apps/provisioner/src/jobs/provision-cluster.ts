import { clusterMeter, generateSigningKey, type JobPayload } from "@berth/core";
import { clusters, openMeter, recordEvent, withTenant } from "@berth/db";
import { eq } from "drizzle-orm";
import type { Deps } from "../deps";
import { clusterKeyColumns } from "./cluster-key";

/**
 * Brings a cluster's control plane up: its own signing key (encrypted at rest), then `active`.
 * One transaction with the cluster row locked: a crash anywhere leaves it as it was, and a retry
 * (or a second worker) finds either nothing done or everything done.
 */
export async function provisionCluster(deps: Deps, p: JobPayload<"cluster.provision">): Promise<void> {
  const key = await generateSigningKey();
  await withTenant(deps.db, p.tenantId, async (tx) => {
    const [c] = await tx.select().from(clusters).where(eq(clusters.id, p.clusterId)).for("no key update");
    if (c?.status !== "provisioning") return;
    const now = deps.now();
    await tx
      .update(clusters)
      .set({
        status: "active",
        statusReason: null,
        activeAt: now,
        ...(c.signingKeyEnc ? {} : clusterKeyColumns(deps.master, c.id, key)),
      })
      .where(eq(clusters.id, c.id));
    await openMeter(tx, {
      tenantId: c.tenantId,
      clusterId: c.id,
      meter: clusterMeter(c.tier),
      subjectId: c.id,
      rate: 1n,
      at: now,
    });
    await recordEvent(tx, {
      tenantId: c.tenantId,
      clusterId: c.id,
      objectKind: "Cluster",
      objectName: c.name,
      reason: "Active",
      message: "control plane is ready: signing key created, nodes may join",
    });
    deps.crashpoint("provision.before-commit");
  });
  deps.crashpoint("provision.after-commit");
}

/** After the last retry: the cluster says why it failed instead of provisioning forever. */
export async function failClusterProvisioning(
  deps: Deps,
  p: JobPayload<"cluster.provision">,
  reason: string,
): Promise<void> {
  await withTenant(deps.db, p.tenantId, async (tx) => {
    const [c] = await tx.select().from(clusters).where(eq(clusters.id, p.clusterId)).for("no key update");
    if (c?.status !== "provisioning") return;
    await tx.update(clusters).set({ status: "failed", statusReason: reason }).where(eq(clusters.id, c.id));
    await recordEvent(tx, {
      tenantId: c.tenantId,
      clusterId: c.id,
      objectKind: "Cluster",
      objectName: c.name,
      type: "Warning",
      reason: "ProvisioningFailed",
      message: reason,
    });
  });
}
