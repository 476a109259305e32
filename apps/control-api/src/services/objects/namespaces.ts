import { BerthError, newId } from "@berth/core";
import { deployments, objects, pods, recordEvent, type Tx } from "@berth/db";
import { BUILT_IN_NAMESPACES } from "@berth/kube";
import { and, eq, inArray, isNull, ne, sql } from "drizzle-orm";
import { stopPods } from "../pod-removal";
import { type ObjectRow, renderObject } from "./render";

/**
 * Namespaces: `default`, `kube-system` and `kube-public` exist in every cluster and cannot be
 * deleted; every other namespace must be created before anything goes into it. Deleting one deletes
 * what it holds, as Kubernetes' namespace controller does: its Deployments (their pods stop through
 * the control loop), Jobs, CronJobs, ConfigMaps, Secrets, quotas and LimitRanges; its pods stop on
 * their nodes. It stays `Terminating` until its last pod is gone, then it is gone too (a trigger on
 * `pods` finalises it, whoever removes that pod).
 */

/** Makes sure the built-in namespaces have their rows (clusters made before namespaces existed get them here). */
export async function ensureBuiltInNamespaces(
  tx: Tx,
  cluster: { id: string; tenantId: string },
): Promise<void> {
  const present = await tx
    .select({ name: objects.name })
    .from(objects)
    .where(
      and(
        eq(objects.clusterId, cluster.id),
        eq(objects.kind, "Namespace"),
        inArray(objects.name, [...BUILT_IN_NAMESPACES]),
      ),
    );
  const missing = BUILT_IN_NAMESPACES.filter((n) => !present.some((p) => p.name === n));
  if (missing.length === 0) return;
  await tx
    .insert(objects)
    .values(
      missing.map((name) => ({
        id: newId("object"),
        tenantId: cluster.tenantId,
        clusterId: cluster.id,
        kind: "Namespace",
        namespace: "",
        name,
        labels: { "kubernetes.io/metadata.name": name },
      })),
    )
    .onConflictDoNothing();
}

/** What a namespace deletion did, for its answer and its event. */
export interface Cascade {
  deployments: number;
  objects: number;
  podsStopping: number;
}

/**
 * Deletes a namespace and everything in it (in the caller's transaction, cluster lock held). The
 * namespace row keeps a deletionTimestamp (status Terminating) while pods stop; with none left to
 * stop, it goes at once.
 */
export async function deleteNamespace(tx: Tx, ns: ObjectRow, now: Date) {
  if ((BUILT_IN_NAMESPACES as readonly string[]).includes(ns.name))
    throw new BerthError(
      "FORBIDDEN",
      `namespaces ${JSON.stringify(ns.name)} is forbidden: this namespace may not be deleted`,
    );
  const [marked] = await tx
    .update(objects)
    .set({
      deletionTimestamp: sql`coalesce(${objects.deletionTimestamp}, ${now.toISOString()}::timestamptz)`,
    })
    .where(eq(objects.id, ns.id))
    .returning();
  const gone = await tx
    .update(deployments)
    .set({ deletedAt: now })
    .where(
      and(
        eq(deployments.clusterId, ns.clusterId),
        eq(deployments.namespace, ns.name),
        isNull(deployments.deletedAt),
      ),
    )
    .returning({ id: deployments.id });
  const deleted = await tx
    .delete(objects)
    .where(
      and(eq(objects.clusterId, ns.clusterId), eq(objects.namespace, ns.name), ne(objects.kind, "Namespace")),
    )
    .returning({ id: objects.id });
  const stopped = await stopPods(tx, and(eq(pods.clusterId, ns.clusterId), eq(pods.namespace, ns.name)), now);
  const cascade: Cascade = {
    deployments: gone.length,
    objects: deleted.length,
    podsStopping: stopped.stopping,
  };
  await recordEvent(tx, {
    tenantId: ns.tenantId,
    clusterId: ns.clusterId,
    objectKind: "Namespace",
    objectName: ns.name,
    objectUid: ns.id,
    source: "berth-api",
    reason: "Terminating",
    message: `deleting namespace ${ns.name}: ${cascade.deployments} deployment(s), ${cascade.objects} other object(s), ${cascade.podsStopping} pod(s) stopping`,
  });
  const [left] = await tx
    .select({ n: sql<number>`count(*)::int` })
    .from(pods)
    .where(and(eq(pods.clusterId, ns.clusterId), eq(pods.namespace, ns.name)));
  // Nothing left to stop: finalised now (else the trigger on pods does it with the last pod).
  if ((left?.n ?? 0) === 0) await tx.delete(objects).where(eq(objects.id, ns.id));
  return { view: renderObject(marked ?? ns), cascade };
}
