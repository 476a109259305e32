import { sql } from "drizzle-orm";
import { type Db, type Tx, withSystem } from "./client";

/**
 * Usage events, their ingestion and their hourly rollups.
 *
 * - An event is the usage of one subject on one meter in one UTC hour, in raw units (ms × rate),
 *   under a deterministic id: ingesting it again changes nothing (the id is the primary key, kept
 *   for as long as the events are, well over the 35-day window).
 * - Ingestion is bulk: one `INSERT … SELECT FROM jsonb_to_recordset(…) ORDER BY id ON CONFLICT DO
 *   NOTHING` per chunk of 20,000 (the chunk as one JSON parameter, one round trip), and the (tenant,
 *   hour) pairs of the events that were new are marked dirty in the same transaction.
 * - The rollup recomputes a dirty hour from its events as a whole (delete, insert, unmark in one
 *   transaction per batch of hours), so running it any number of times, or being killed anywhere in
 *   it, leaves the same result.
 */
export interface UsageEvent {
  id: string;
  tenantId: string;
  clusterId: string;
  namespace: string;
  meter: string;
  subjectId: string;
  /** The start of the UTC hour. */
  hour: Date;
  raw: bigint;
  labels: Record<string, string>;
}

/** Events may arrive this late (an agent offline for weeks) and still land in their hour. */
export const LATE_EVENT_WINDOW_MS = 35 * 86_400_000;
export const HOUR_MS = 3_600_000;
const CHUNK = 20_000;

export const hourOf = (at: Date): Date => new Date(Math.floor(at.getTime() / HOUR_MS) * HOUR_MS);

export interface IngestResult {
  inserted: number;
  duplicates: number;
  /** Older than the late window, or of an hour that has not begun: refused. */
  refused: number;
}

/** Ingests a batch of events in one transaction; replays of events already stored are no-ops. */
export async function ingestUsageEvents(
  db: Db,
  events: readonly UsageEvent[],
  now: Date,
): Promise<IngestResult> {
  const oldest = now.getTime() - LATE_EVENT_WINDOW_MS;
  let accepted = events.filter((e) => {
    const at = e.hour.getTime();
    return at >= oldest && at <= now.getTime() && at % HOUR_MS === 0;
  });
  // Concurrent ingestions of overlapping batches must take the key locks in one order (or two
  // replays of each other's events deadlock): each chunk is inserted in id order by Postgres, and
  // a batch of several chunks is sorted here first so the chunks follow one another in that order.
  if (accepted.length > CHUNK)
    accepted = accepted.toSorted((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  let inserted = 0;
  if (accepted.length > 0)
    await withSystem(db, async (tx) => {
      const marks: [string, string][] = [];
      for (let i = 0; i < accepted.length; i += CHUNK) {
        const chunk = await insertChunk(tx, accepted.slice(i, i + CHUNK));
        inserted += chunk.inserted;
        marks.push(...chunk.marks);
      }
      await markDirty(tx, marks);
    });
  return { inserted, duplicates: accepted.length - inserted, refused: events.length - accepted.length };
}

/**
 * Inserts a chunk in id order and answers how many were new and the (tenant, hour) pairs of those
 * (a replay dirties nothing). The chunk is one JSON parameter (JSON.stringify is native;
 * jsonb_to_recordset reads it in one pass): one statement, one round trip.
 */
async function insertChunk(
  tx: Tx,
  chunk: readonly UsageEvent[],
): Promise<{ inserted: number; marks: [string, string][] }> {
  const rows = JSON.stringify(
    chunk.map((e) => ({
      id: e.id,
      t: e.tenantId,
      c: e.clusterId,
      n: e.namespace,
      m: e.meter,
      s: e.subjectId,
      h: e.hour.getTime() / 1000,
      r: e.raw.toString(),
      l: e.labels,
    })),
  );
  const [row] = await tx.execute<{ n: number; marks: [string, string][] }>(sql`
    with ins as (
      insert into usage_events (id, tenant_id, cluster_id, namespace, meter, subject_id, hour, raw, labels)
      select id, t, c, n, m, s, to_timestamp(h), r::bigint, l
      from jsonb_to_recordset(${rows}::jsonb) as u(id text, t text, c text, n text, m text, s text, h bigint, r text, l jsonb)
      order by id
      on conflict (id) do nothing
      returning tenant_id, hour
    ), pairs as (select distinct tenant_id, hour from ins)
    select (select count(*)::int from ins) as n,
           coalesce((select jsonb_agg(jsonb_build_array(tenant_id, hour)) from pairs), '[]'::jsonb) as marks`);
  return { inserted: row?.n ?? 0, marks: row?.marks ?? [] };
}

/**
 * Marks (tenant, hour) pairs dirty. `do update` (not `do nothing`) so that a mark racing a rollup of
 * the same hour waits for it and then stands: the rollup may not have seen this transaction's events.
 * Sorted, once per transaction, so that concurrent ingestions lock marks in one order.
 */
async function markDirty(tx: Tx, marks: readonly [string, string][]): Promise<void> {
  if (marks.length === 0) return;
  await tx.execute(sql`
    insert into usage_dirty_hours (tenant_id, hour)
    select distinct m ->> 0, (m ->> 1)::timestamptz from jsonb_array_elements(${JSON.stringify(marks)}::jsonb) m
    order by 1, 2
    on conflict (tenant_id, hour) do update set hour = excluded.hour`);
}

/**
 * The tail of a derivation: the `derived` rows (`eid` and an event's columns) with a positive raw
 * amount become events, new ones only, and their (tenant, hour) pairs are marked dirty, in the
 * statement that derived them; it answers `n`, how many were new.
 */
export const storeDerived = sql`, ins as (
    insert into usage_events (id, tenant_id, cluster_id, namespace, meter, subject_id, hour, raw, labels)
    select eid, tenant_id, cluster_id, namespace, meter, subject_id, hour, raw, labels from derived
    where raw > 0
    on conflict (id) do nothing
    returning tenant_id, hour
  ), marked as (
    insert into usage_dirty_hours (tenant_id, hour)
    select distinct tenant_id, hour from ins order by 1, 2
    on conflict (tenant_id, hour) do update set hour = excluded.hour
  )
  select count(*)::int as n from ins`;

/**
 * Where a derivation of closed hours starts: its watermark (locked until the transaction ends)
 * less `lookbackHours` (2), never before the oldest hour events may still land in.
 */
export async function derivationStart(tx: Tx, name: string, now: Date, lookbackHours = 2): Promise<Date> {
  const [mark] = await tx.execute<{ at: string }>(
    sql`select at from usage_watermarks where name = ${name} for update`,
  );
  const lookback = lookbackHours * HOUR_MS;
  const oldest = hourOf(new Date(now.getTime() - LATE_EVENT_WINDOW_MS)).getTime() + HOUR_MS;
  return new Date(Math.max(mark ? new Date(mark.at).getTime() - lookback : oldest, oldest));
}

/** A derivation's watermark moves forward only. */
export function advanceWatermark(tx: Tx, name: string, at: string) {
  return tx.execute(sql`
    insert into usage_watermarks (name, at) values (${name}, ${at}::timestamptz)
    on conflict (name) do update set at = greatest(usage_watermarks.at, excluded.at)`);
}

/** Meters billed for at least a minute per interval, as EC2 bills an instance. */
const MINIMUM_MS_METERS = [
  "node_hours",
  "machine_small_hours",
  "machine_medium_hours",
  "machine_large_hours",
  "machine_gpu_hours",
];
const MINIMUM_MS = 60_000;
const WATERMARK = "derive";

/**
 * Turns meter intervals into usage events, one per interval and closed hour, with the id
 * `ue_` + sha256(interval id | hour): deriving the same hour again yields the same ids, so a rerun
 * (or a crash and a retry) adds nothing. Hours from the watermark (less `lookbackHours`, to
 * re-cover intervals closed since) up to the last closed hour; a machine or node interval that
 * ended shorter than a minute gets a top-up event to 60 s in the hour it started.
 */
export async function deriveUsageEvents(
  db: Db,
  now: Date,
  opts: { lookbackHours?: number } = {},
): Promise<{ inserted: number; from: Date; to: Date }> {
  const to = hourOf(now);
  return withSystem(db, async (tx) => {
    const [mark] = await tx.execute<{ at: string }>(
      sql`select at from usage_watermarks where name = ${WATERMARK} for update`,
    );
    const lookback = (opts.lookbackHours ?? 2) * HOUR_MS;
    const since = mark ? new Date(mark.at).getTime() - lookback : to.getTime() - lookback;
    const from = new Date(
      Math.max(since, hourOf(new Date(now.getTime() - LATE_EVENT_WINDOW_MS)).getTime() + HOUR_MS),
    );
    const f = from.toISOString();
    const t = to.toISOString();
    const n = now.toISOString();
    const [row] = await tx.execute<{ n: number }>(sql`
      with src as (
        select id, tenant_id, cluster_id, namespace, meter, subject_id, rate, labels, started_at,
               coalesce(ended_at, ${n}::timestamptz) as ended, ended_at
        from meter_intervals
        where started_at < ${t}::timestamptz and (ended_at is null or ended_at > ${f}::timestamptz)
      ), hourly as (
        select s.*, h as hour from src s,
          generate_series(date_trunc('hour', greatest(s.started_at, ${f}::timestamptz)),
                          least(s.ended, ${t}::timestamptz) - interval '1 millisecond', interval '1 hour') h
      ), derived as (
        select 'ue_' || left(encode(sha256(convert_to(id || '|' || to_char(hour at time zone 'UTC', 'YYYY-MM-DD"T"HH24'), 'UTF8')), 'hex'), 32) as eid,
               tenant_id, cluster_id, namespace, meter, subject_id, hour, labels,
               floor(extract(epoch from least(ended, hour + interval '1 hour') - greatest(started_at, hour)) * 1000)::bigint * rate as raw
        from hourly
        union all
        select 'ue_' || left(encode(sha256(convert_to(id || '|min60', 'UTF8')), 'hex'), 32),
               tenant_id, cluster_id, namespace, meter, subject_id, date_trunc('hour', started_at), labels,
               (${MINIMUM_MS} - floor(extract(epoch from ended_at - started_at) * 1000))::bigint * rate
        from src
        where meter = any(string_to_array(${MINIMUM_MS_METERS.join(",")}, ',')) and ended_at is not null
          and ended_at >= ${f}::timestamptz and ended_at < ${t}::timestamptz
          and ended_at - started_at < make_interval(secs => ${MINIMUM_MS / 1000})
      )
      ${storeDerived}`);
    await advanceWatermark(tx, WATERMARK, t);
    return { inserted: row?.n ?? 0, from, to };
  });
}

const OVER_WATERMARK = "derive-over-request";

/**
 * Usage over requests, per pod and hour: what the pod used (the metrics' hourly tier: cpu
 * nanoseconds, memory byte-seconds) beyond what it requested in that hour (its request events),
 * never negative, as the meters `pod_vcpu_seconds_over_request` and
 * `pod_memory_gib_seconds_over_request` with the id `ue_` + sha256(pod | hour | meter). Only hours
 * the metrics' hourly tier has closed (its `done_until`), after their request events were derived
 * (run after `deriveUsageEvents`): the measure of such an hour is final, and so is its event, so a
 * rerun adds nothing. Samples an agent delivers after that (offline longer than the metrics'
 * late window) are not billed over requests — the rule errs for the tenant.
 */
export async function deriveOverRequestEvents(
  db: Db,
  now: Date,
  opts: { lookbackHours?: number } = {},
): Promise<{ inserted: number; from: Date; to: Date } | null> {
  return withSystem(db, async (tx) => {
    const [done] = await tx.execute<{ at: string }>(
      sql`select done_until::text as at from metric_rollups where resolution = 3600`,
    );
    if (!done) return null;
    const to = new Date(Math.min(new Date(done.at).getTime(), hourOf(now).getTime()));
    const from = await derivationStart(tx, OVER_WATERMARK, now, opts.lookbackHours);
    if (!(to > from)) return { inserted: 0, from, to };
    const f = from.toISOString();
    const t = to.toISOString();
    const [row] = await tx.execute<{ n: number }>(sql`
      with used as (
        select pod_id, tenant_id, cluster_id, ts as hour,
               cpu_nanos / 1000 as cpu_raw, memory_byte_seconds * 1000 as memory_raw
        from pod_metrics where resolution = 3600 and ts >= ${f}::timestamptz and ts < ${t}::timestamptz
      ), requested as (
        select subject_id, hour, meter, sum(raw) as raw, min(namespace) as namespace,
               (array_agg(labels))[1] as labels
        from usage_events
        where meter in ('pod_vcpu_seconds', 'pod_memory_gib_seconds')
          and hour >= ${f}::timestamptz and hour < ${t}::timestamptz
        group by subject_id, hour, meter
      ), pairs as (
        select u.*, m.base, m.over, case when m.base = 'pod_vcpu_seconds' then u.cpu_raw else u.memory_raw end as used_raw
        from used u cross join (values ('pod_vcpu_seconds', 'pod_vcpu_seconds_over_request'),
                                       ('pod_memory_gib_seconds', 'pod_memory_gib_seconds_over_request')) m(base, over)
      ), derived as (
        select 'ue_' || left(encode(sha256(convert_to(p.pod_id || '|' || to_char(p.hour at time zone 'UTC', 'YYYY-MM-DD"T"HH24') || '|' || p.over, 'UTF8')), 'hex'), 32) as eid,
               p.tenant_id, p.cluster_id, coalesce(r.namespace, pod.namespace, '') as namespace, p.over as meter,
               p.pod_id as subject_id, p.hour, (p.used_raw - coalesce(r.raw, 0))::bigint as raw,
               coalesce(r.labels, pod.labels, '{}'::jsonb) as labels
        from pairs p
        left join requested r on r.subject_id = p.pod_id and r.hour = p.hour and r.meter = p.base
        left join pods pod on pod.id = p.pod_id
      )
      ${storeDerived}`);
    await advanceWatermark(tx, OVER_WATERMARK, t);
    return { inserted: row?.n ?? 0, from, to };
  });
}

/**
 * Rolls up a batch of dirty hours in one transaction: each hour's rollup rows are replaced by a
 * fresh aggregate of all its events, by cluster × namespace × meter × the tenant's cost-allocation
 * labels; the marks are cleared. Marks locked by another rollup are skipped. Returns the hours done.
 */
export async function rollupDirtyHours(
  db: Db,
  opts: { batch?: number; beforeCommit?: () => void | Promise<void> } = {},
): Promise<number> {
  return withSystem(db, async (tx) => {
    const dirty = await tx.execute<{ tenant_id: string; hour: string }>(sql`
      select tenant_id, hour::text from usage_dirty_hours
      order by tenant_id, hour limit ${opts.batch ?? 50} for update skip locked`);
    if (dirty.length === 0) return 0;
    const marks = JSON.stringify(dirty.map((d) => [d.tenant_id, d.hour]));
    const pairs = sql`select m ->> 0 as tenant_id, (m ->> 1)::timestamptz as hour from jsonb_array_elements(${marks}::jsonb) m`;
    await tx.execute(sql`
      delete from usage_hourly u using (${pairs}) p where u.tenant_id = p.tenant_id and u.hour = p.hour`);
    await tx.execute(sql`
      insert into usage_hourly (tenant_id, hour, cluster_id, namespace, meter, labels_key, labels, raw, events)
      select e.tenant_id, e.hour, e.cluster_id, e.namespace, e.meter, l.labels::text, l.labels, sum(e.raw), count(*)
      from (${pairs}) p
      join tenants t on t.id = p.tenant_id
      join usage_events e on e.tenant_id = p.tenant_id and e.hour = p.hour
      cross join lateral (
        select coalesce(jsonb_object_agg(k, e.labels ->> k), '{}'::jsonb) as labels
        from jsonb_array_elements_text(t.cost_allocation_label_keys) k where e.labels ? k
      ) l
      group by e.tenant_id, e.hour, e.cluster_id, e.namespace, e.meter, l.labels`);
    await opts.beforeCommit?.();
    await tx.execute(sql`
      delete from usage_dirty_hours d using (${pairs}) p where d.tenant_id = p.tenant_id and d.hour = p.hour`);
    return dirty.length;
  });
}

/** Rolls up until no dirty hour is left (or only ones another worker holds). */
export async function rollupAll(db: Db, batch = 50): Promise<number> {
  let total = 0;
  for (;;) {
    const n = await rollupDirtyHours(db, { batch });
    total += n;
    if (n === 0) return total;
  }
}
