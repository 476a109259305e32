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

/**
 * Many events of objects in clusters at once, as `recordEvent` records each (a repeat within ten
 * minutes is counted), in one statement: for a sweep that lapses many nodes in one transaction,
 * which holds their rows until it commits. Repeats within the list count as repeats.
 */
export async function recordEvents(
  tx: Tx,
  list: readonly (EventInput & { clusterId: string })[],
): Promise<void> {
  const byKey = new Map<string, Record<string, unknown> & { times: number }>();
  for (const e of list) {
    const row = {
      tenant_id: e.tenantId,
      cluster_id: e.clusterId,
      object_kind: e.objectKind,
      object_name: e.objectName,
      type: e.type ?? "Normal",
      reason: e.reason,
      message: e.message,
      namespace: e.namespace ?? null,
      object_uid: e.objectUid ?? null,
      source: e.source ?? null,
    };
    const key = JSON.stringify([
      row.cluster_id,
      row.object_kind,
      row.object_name,
      row.type,
      row.reason,
      row.message,
      row.namespace,
      row.object_uid,
    ]);
    const seen = byKey.get(key);
    if (seen) seen.times += 1;
    else byKey.set(key, { ...row, id: newId("event"), times: 1 });
  }
  if (byKey.size === 0) return;
  await tx.execute(sql`
    with input as (
      select * from jsonb_to_recordset(${JSON.stringify([...byKey.values()])}::jsonb) as i(
        id text, tenant_id text, cluster_id text, object_kind text, object_name text, type text,
        reason text, message text, namespace text, object_uid text, source text, times int)
    ), repeated as (
      update ${events} e set count = e.count + i.times, last_timestamp = now()
      from input i
      where e.cluster_id = i.cluster_id and e.object_kind = i.object_kind
        and e.object_name = i.object_name and e.reason = i.reason and e.message = i.message
        and e.type = i.type and e.namespace is not distinct from i.namespace
        and e.object_uid is not distinct from i.object_uid
        and e.last_timestamp > now() - make_interval(secs => ${EVENT_DEDUPE_WINDOW_SECONDS})
      returning i.id
    )
    insert into ${events} (id, tenant_id, cluster_id, object_kind, object_name, type, reason, message,
                           namespace, object_uid, source, count)
    select id, tenant_id, cluster_id, object_kind, object_name, type, reason, message, namespace,
           object_uid, source, times
    from input where id not in (select id from repeated)`);
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
