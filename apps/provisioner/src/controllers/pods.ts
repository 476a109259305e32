import { closeMeters, pods } from "@berth/db";
import { inArray, sql } from "drizzle-orm";
import type { LoopContext, PodRow } from "./loop";

export type NewPod = typeof pods.$inferInsert;

/** Inserts pod rows (pending: the scheduler places them) and returns them. */
export async function insertPods(ctx: LoopContext, rows: readonly NewPod[]): Promise<PodRow[]> {
  if (rows.length === 0) return [];
  return ctx.tx
    .insert(pods)
    .values([...rows])
    .returning();
}

/**
 * Removes pods: those never placed, or on a node that is gone, at once (their metering ends);
 * the others are marked for removal, and their rows go once their node confirms the containers
 * are gone. Pods already marked are left as they are.
 */
export async function removePods(ctx: LoopContext, victims: readonly PodRow[]): Promise<void> {
  const immediate = victims.filter(
    (p) => !p.nodeId || ctx.nodeById.get(p.nodeId)?.status === "left" || !ctx.nodeById.has(p.nodeId),
  );
  const viaAgent = victims.filter((p) => !immediate.includes(p) && p.deletionRequestedAt === null);
  for (const p of immediate) await closeMeters(ctx.tx, p.id, ctx.now);
  if (immediate.length > 0)
    await ctx.tx.delete(pods).where(
      inArray(
        pods.id,
        immediate.map((p) => p.id),
      ),
    );
  if (viaAgent.length > 0)
    await ctx.tx
      .update(pods)
      .set({ deletionRequestedAt: ctx.now, ready: false, resourceVersion: sql`nextval('resource_versions')` })
      .where(
        inArray(
          pods.id,
          viaAgent.map((p) => p.id),
        ),
      );
}
