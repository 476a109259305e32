import { type Meter, newId } from "@berth/core";
import { and, desc, eq, isNull, like, ne, sql } from "drizzle-orm";
import type { Tx } from "./client";
import { events, LAUNCH_FAILED, machines, meterIntervals, nodes, pods } from "./schema";

export interface EventInput {
  tenantId: string;
  clusterId: string | null;
  objectKind: string;
  objectName: string;
  type?: "Normal" | "Warning";
  reason: string;
  message: string;
}

/** Events a tenant can read, written in the same transaction as the change they describe. */
export async function recordEvent(tx: Tx, e: EventInput): Promise<void> {
  await tx.insert(events).values({ id: newId("event"), type: "Normal", ...e });
}

/** Starts metering a subject; a second open of the same meter and subject does nothing (idempotent). */
export async function openMeter(
  tx: Tx,
  m: { tenantId: string; clusterId: string; meter: Meter; subjectId: string; rate: bigint; at: Date },
): Promise<void> {
  await tx
    .insert(meterIntervals)
    .values({
      id: newId("meter"),
      tenantId: m.tenantId,
      clusterId: m.clusterId,
      meter: m.meter,
      subjectId: m.subjectId,
      rate: m.rate,
      startedAt: m.at,
    })
    .onConflictDoNothing({
      target: [meterIntervals.meter, meterIntervals.subjectId],
      where: sql`${meterIntervals.endedAt} is null`,
    });
}

/** Stops metering a subject (every meter when `meter` is omitted); closing a closed meter does nothing. */
export async function closeMeters(tx: Tx, subjectId: string, at: Date, meter?: Meter): Promise<void> {
  await tx
    .update(meterIntervals)
    .set({ endedAt: sql`greatest(${meterIntervals.startedAt}, ${at.toISOString()}::timestamptz)` })
    .where(
      and(
        eq(meterIntervals.subjectId, subjectId),
        isNull(meterIntervals.endedAt),
        meter ? eq(meterIntervals.meter, meter) : undefined,
      ),
    );
}

/**
 * A node leaves the cluster: whatever pods it still had are gone with it (their metering ends
 * now), it is marked left, and its own metering ends. Idempotent: a node already left is untouched.
 */
export async function releaseNode(tx: Tx, nodeId: string, at: Date, reason: string): Promise<boolean> {
  const [node] = await tx
    .update(nodes)
    .set({ status: "left", statusReason: reason, leftAt: at })
    .where(and(eq(nodes.id, nodeId), ne(nodes.status, "left")))
    .returning({ id: nodes.id });
  if (!node) return false;
  const gone = await tx.delete(pods).where(eq(pods.nodeId, nodeId)).returning({ id: pods.id });
  for (const p of gone) await closeMeters(tx, p.id, at);
  await closeMeters(tx, nodeId, at);
  return true;
}

/**
 * The latest machine of each of a cluster's pools whose launch the provider refused for good (see
 * `isLaunchFailure`), by pool id. A pool stops adding machines while it has one newer than its
 * last update, and says so.
 */
export async function latestLaunchFailures(
  tx: Tx,
  clusterId: string,
): Promise<Map<string, typeof machines.$inferSelect>> {
  const rows = await tx
    .selectDistinctOn([machines.poolId])
    .from(machines)
    .where(
      and(
        eq(machines.clusterId, clusterId),
        eq(machines.status, "terminated"),
        like(machines.statusReason, `${LAUNCH_FAILED}%`),
      ),
    )
    .orderBy(machines.poolId, desc(machines.terminatedAt));
  return new Map(rows.map((m) => [m.poolId, m]));
}
