import { closeMeters, pods, type Tx } from "@berth/db";
import { and, inArray, isNull, type SQL } from "drizzle-orm";

/**
 * Stops the pods matching `where`, gracefully: a pod on a node is marked for deletion (its node
 * stops it, with its grace period, and reports it gone; the row goes then), a pod never placed is
 * removed at once. Their controllers replace them unless they are being deleted too.
 */
export async function stopPods(
  tx: Tx,
  where: SQL | undefined,
  now: Date,
): Promise<{ stopping: number; removed: number }> {
  const rows = await tx
    .select({ id: pods.id, nodeId: pods.nodeId })
    .from(pods)
    .where(and(where, isNull(pods.deletionRequestedAt)));
  const unplaced = rows.filter((p) => p.nodeId === null).map((p) => p.id);
  const placed = rows.filter((p) => p.nodeId !== null).map((p) => p.id);
  for (const id of unplaced) await closeMeters(tx, id, now);
  if (unplaced.length > 0) await tx.delete(pods).where(inArray(pods.id, unplaced));
  if (placed.length > 0)
    await tx.update(pods).set({ deletionRequestedAt: now, ready: false }).where(inArray(pods.id, placed));
  return { stopping: placed.length, removed: unplaced.length };
}
