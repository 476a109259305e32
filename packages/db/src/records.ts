import { type Meter, newId } from "@berth/core";
import { and, desc, eq, gt, isNull, like, ne, sql } from "drizzle-orm";
import type { Tx } from "./client";
import { events, LAUNCH_FAILED, machines, meterIntervals, nodes, pods } from "./schema";

export interface EventInput {
  tenantId: string;
  clusterId: string | null;
  objectKind: string;
  /** The object's name (older callers write `<namespace>/<name>` here, without `namespace`). */
  objectName: string;
  type?: "Normal" | "Warning";
  reason: string;
  message: string;
  /** The object's namespace (Kubernetes' involvedObject.namespace), for namespaced objects. */
  namespace?: string | null;
  /** The object's uid (its id). */
  objectUid?: string | null;
  /** Who reports it: a node's name, or a component of the control plane. */
  source?: string | null;
}

/** Kubernetes' event deduplication window: a repeat within it is counted, not stored again. */
export const EVENT_DEDUPE_WINDOW_SECONDS = 600;

/**
 * Events a tenant can read, written in the same transaction as the change they describe. A repeat
 * of an event (same object, type, reason and message) within ten minutes increments the count and
 * moves `lastTimestamp` of the one already stored, as Kubernetes' event recorder does.
 */
export async function recordEvent(tx: Tx, e: EventInput): Promise<void> {
  const type = e.type ?? "Normal";
  const [repeated] = await tx
    .update(events)
    .set({ count: sql`${events.count} + 1`, lastTimestamp: sql`now()` })
    .where(
      and(
        e.clusterId === null ? isNull(events.clusterId) : eq(events.clusterId, e.clusterId),
        eq(events.objectKind, e.objectKind),
        eq(events.objectName, e.objectName),
        eq(events.reason, e.reason),
        eq(events.message, e.message),
        eq(events.type, type),
        sql`${events.namespace} is not distinct from ${e.namespace ?? null}`,
        sql`${events.objectUid} is not distinct from ${e.objectUid ?? null}`,
        gt(events.lastTimestamp, sql`now() - make_interval(secs => ${EVENT_DEDUPE_WINDOW_SECONDS})`),
      ),
    )
    .returning({ id: events.id });
  if (repeated) return;
  await tx.insert(events).values({
    id: newId("event"),
    tenantId: e.tenantId,
    clusterId: e.clusterId,
    objectKind: e.objectKind,
    objectName: e.objectName,
    type,
    reason: e.reason,
    message: e.message,
    namespace: e.namespace ?? null,
    objectUid: e.objectUid ?? null,
    source: e.source ?? null,
  });
}

/** Starts metering a subject; a second open of the same meter and subject does nothing (idempotent). */
export async function openMeter(
  tx: Tx,
  m: {
    tenantId: string;
    clusterId: string;
    meter: Meter;
    subjectId: string;
    rate: bigint;
    at: Date;
    /** A pod's namespace and labels, for rollups by namespace and cost-allocation label. */
    namespace?: string;
    labels?: Record<string, string>;
  },
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
      namespace: m.namespace ?? "",
      labels: m.labels ?? {},
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
