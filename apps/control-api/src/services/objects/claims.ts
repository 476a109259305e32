import { objects, persistentVolumes, pods, recordEvent, type Tx } from "@berth/db";
import { PVC_PROTECTION_FINALIZER } from "@berth/kube";
import { and, eq, sql } from "drizzle-orm";
import type { ObjectRow } from "./render";

/** The pods that mount a claim (kubernetes.io/pvc-protection counts every pod still on record). */
export async function podsUsingClaim(tx: Tx, o: ObjectRow): Promise<string[]> {
  const rows = await tx
    .select({ name: pods.name })
    .from(pods)
    .where(
      and(
        eq(pods.clusterId, o.clusterId),
        eq(pods.namespace, o.namespace),
        sql`${pods.template}->'volumes' @> ${JSON.stringify([{ type: "persistentVolumeClaim", claimName: o.name }])}::jsonb`,
      ),
    );
  return rows.map((r) => r.name);
}

/**
 * DELETE of a PersistentVolumeClaim, as Kubernetes' storage-object-in-use protection has it: the
 * claim gets its deletionTimestamp at once, and goes when nothing needs it any more. A claim no pod
 * mounts and that never got a disk goes now; otherwise the volume controller removes it once no pod
 * mounts it and its disk is detached and deleted. Returns whether the row is already gone.
 */
export async function deleteClaim(
  tx: Tx,
  o: ObjectRow,
  now: Date,
): Promise<{ gone: boolean; deleting: Date }> {
  const users = await podsUsingClaim(tx, o);
  const [disk] = await tx
    .select({ id: persistentVolumes.claimId })
    .from(persistentVolumes)
    .where(eq(persistentVolumes.claimId, o.id));
  if (users.length === 0 && !disk) {
    await tx.delete(objects).where(eq(objects.id, o.id));
    return { gone: true, deleting: now };
  }
  const deleting = o.deletionTimestamp ?? now;
  await tx
    .update(objects)
    .set({ deletionTimestamp: deleting, resourceVersion: sql`nextval('resource_versions')` })
    .where(eq(objects.id, o.id));
  if (users.length > 0)
    await recordEvent(tx, {
      tenantId: o.tenantId,
      clusterId: o.clusterId,
      objectKind: "PersistentVolumeClaim",
      objectName: o.name,
      namespace: o.namespace,
      objectUid: o.id,
      source: "berth-api",
      type: "Warning",
      reason: "ClaimInUse",
      message: `deletion deferred by ${PVC_PROTECTION_FINALIZER}: used by pod(s) ${users.slice(0, 5).join(", ")}`,
    });
  return { gone: false, deleting };
}
