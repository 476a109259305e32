import { sql } from "drizzle-orm";
import { type Db, withSystem } from "./client";
import { advanceWatermark, derivationStart, hourOf, storeDerived } from "./usage";

const EGRESS_WATERMARK = "derive-egress";
/** The gateway adds its counts every few seconds: an hour is final this long after it ends. */
export const EGRESS_SETTLE_MS = 120_000;

/**
 * Bytes the ingress gateway sent for each Ingress in an hour (its `ingress_route_stats`, every rule
 * and status class), as the meter `egress_bytes` with the id `ue_` + sha256(ingress | hour |
 * egress_bytes). Only hours that ended `EGRESS_SETTLE_MS` ago (the gateway's last flush of the hour
 * is in): the event of an hour is final, so a rerun adds nothing. An Ingress deleted before its
 * hour is derived takes its counts with it (the rule errs for the tenant).
 */
export async function deriveEgressEvents(
  db: Db,
  now: Date,
  opts: { lookbackHours?: number } = {},
): Promise<{ inserted: number; from: Date; to: Date }> {
  return withSystem(db, async (tx) => {
    const to = hourOf(new Date(now.getTime() - EGRESS_SETTLE_MS));
    const from = await derivationStart(tx, EGRESS_WATERMARK, now, opts.lookbackHours);
    if (!(to > from)) return { inserted: 0, from, to };
    const f = from.toISOString();
    const t = to.toISOString();
    const [row] = await tx.execute<{ n: number }>(sql`
      with derived as (
        select 'ue_' || left(encode(sha256(convert_to(s.object_id || '|' || to_char(date_trunc('hour', s.minute) at time zone 'UTC', 'YYYY-MM-DD"T"HH24') || '|egress_bytes', 'UTF8')), 'hex'), 32) as eid,
               s.tenant_id, s.cluster_id, o.namespace, 'egress_bytes' as meter, s.object_id as subject_id,
               date_trunc('hour', s.minute) as hour, sum(s.bytes)::bigint as raw, o.labels
        from ingress_route_stats s join objects o on o.id = s.object_id
        where s.minute >= ${f}::timestamptz and s.minute < ${t}::timestamptz
        group by s.object_id, s.tenant_id, s.cluster_id, o.namespace, o.labels, date_trunc('hour', s.minute)
      )
      ${storeDerived}`);
    await advanceWatermark(tx, EGRESS_WATERMARK, t);
    return { inserted: row?.n ?? 0, from, to };
  });
}
