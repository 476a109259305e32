import type { MeasuredUsage } from "@berth/core";
import { and, eq, gte, lt, sql } from "drizzle-orm";
import { type Db, type Tx, withSystem } from "./client";
import { METRIC_TIERS, podMetrics } from "./schema";

export interface RollupOptions {
  /**
   * How long after a minute ends its raw samples are taken as all in (agents send every sample
   * interval; a batch may be late by one). Samples later than that and older than one bucket of
   * overlap are kept raw but miss their rollup.
   */
  lateMs?: number;
}

export interface RollupResult {
  /** Rows written (inserted or recomputed) per tier, by resolution. */
  rows: Record<number, number>;
  /** Rows deleted past their tier's retention, by resolution. */
  pruned: Record<number, number>;
}

const SUBJECTS = [
  {
    table: "pod_metrics",
    key: "pod_id",
    extra: ", owner_id, restarts",
    extraAgg: ", max(owner_id), max(restarts)",
  },
  { table: "node_metrics", key: "node_id", extra: "", extraAgg: "" },
] as const;

/**
 * Fills each rolled-up tier from the one below it, then deletes what is past each tier's retention.
 * Crash-safe and idempotent: a tier's buckets and its `doneUntil` mark move in one transaction,
 * a bucket is written by recomputing it from its source (insert, or update on conflict), and the
 * last bucket before the mark is computed again on the next run (it takes late samples in). A
 * source row is pruned only once the tier above has taken it in.
 *
 * A raw sample covers the window that ends at its `ts`: it counts in the bucket that window ends in
 * (a sample at 12:01:00.000 belongs to 12:00). A rolled-up row's `ts` is its bucket's start.
 */
export async function rollupMetrics(db: Db, now: Date, opts: RollupOptions = {}): Promise<RollupResult> {
  const lateMs = opts.lateMs ?? 30_000;
  const result: RollupResult = { rows: {}, pruned: {} };
  for (const tier of METRIC_TIERS) {
    if (tier.from === null) continue;
    result.rows[tier.resolution] = await rollupTier(db, now, tier.resolution, tier.from, lateMs);
  }
  for (const tier of METRIC_TIERS) result.pruned[tier.resolution] = await pruneTier(db, now, tier);
  return result;
}

async function rollupTier(
  db: Db,
  now: Date,
  resolution: number,
  from: number,
  lateMs: number,
): Promise<number> {
  return withSystem(db, async (tx) => {
    const seconds = `${resolution} seconds`;
    // Where the tier is complete to: its mark, or (first run) the oldest data its source keeps.
    await tx.execute(sql`
      insert into metric_rollups (resolution, done_until)
      values (${resolution}, date_bin(${seconds}::interval, ${now.toISOString()}::timestamptz - interval '1 day', 'epoch'))
      on conflict (resolution) do nothing`);
    const [mark] = (await tx.execute(
      sql`select done_until as "doneUntil" from metric_rollups where resolution = ${resolution} for update`,
    )) as unknown as { doneUntil: string | Date }[];
    if (!mark) return 0;
    const done = new Date(mark.doneUntil);
    // The source is complete up to: now less the lateness (raw), or the source tier's own mark.
    let sourceDone: Date;
    if (from === 0) sourceDone = new Date(now.getTime() - lateMs);
    else {
      const [src] = (await tx.execute(
        sql`select done_until as "doneUntil" from metric_rollups where resolution = ${from}`,
      )) as unknown as { doneUntil: string | Date }[];
      if (!src) return 0;
      sourceDone = new Date(src.doneUntil);
    }
    const step = resolution * 1000;
    const target = new Date(Math.floor(sourceDone.getTime() / step) * step);
    if (target <= done) return 0;
    // One bucket of overlap: the last bucket written is computed again with what arrived since.
    const start = new Date(done.getTime() - step);
    let rows = 0;
    for (const s of SUBJECTS) {
      // Raw rows belong to the bucket their window ends in; rolled-up rows to the one they start in.
      const bucket =
        from === 0
          ? sql.raw(`date_bin('${seconds}'::interval, ts - interval '1 millisecond', 'epoch')`)
          : sql.raw(`date_bin('${seconds}'::interval, ts, 'epoch')`);
      const inRange =
        from === 0
          ? sql`ts > ${start.toISOString()}::timestamptz and ts <= ${target.toISOString()}::timestamptz`
          : sql`ts >= ${start.toISOString()}::timestamptz and ts < ${target.toISOString()}::timestamptz`;
      const [written] = (await tx.execute(sql`
        with w as (insert into ${sql.raw(s.table)} (${sql.raw(s.key)}, tenant_id, cluster_id, resolution, ts, window_ms,
          cpu_nanos, memory_bytes, memory_byte_seconds, rx_bytes, tx_bytes${sql.raw(s.extra)})
        select ${sql.raw(s.key)}, tenant_id, cluster_id, ${resolution}, ${bucket}, sum(window_ms),
          sum(cpu_nanos), max(memory_bytes), sum(memory_byte_seconds), sum(rx_bytes), sum(tx_bytes)${sql.raw(s.extraAgg)}
        from ${sql.raw(s.table)}
        where resolution = ${from} and ${inRange}
        group by ${sql.raw(s.key)}, tenant_id, cluster_id, ${bucket}
        on conflict (${sql.raw(s.key)}, resolution, ts) do update set
          window_ms = excluded.window_ms, cpu_nanos = excluded.cpu_nanos, memory_bytes = excluded.memory_bytes,
          memory_byte_seconds = excluded.memory_byte_seconds, rx_bytes = excluded.rx_bytes,
          tx_bytes = excluded.tx_bytes${sql.raw(s.extra ? ", owner_id = excluded.owner_id, restarts = excluded.restarts" : "")}
        returning 1) select count(*)::int as n from w`)) as unknown as { n: number }[];
      rows += written?.n ?? 0;
    }
    await tx.execute(
      sql`update metric_rollups set done_until = ${target.toISOString()}::timestamptz where resolution = ${resolution}`,
    );
    return rows;
  });
}

/** Deletes a tier's rows past its retention that the tier above (if any) has already taken in. */
async function pruneTier(db: Db, now: Date, tier: (typeof METRIC_TIERS)[number]): Promise<number> {
  const above = METRIC_TIERS.find((t) => t.from === tier.resolution);
  return withSystem(db, async (tx) => {
    let before = new Date(now.getTime() - tier.keepSeconds * 1000);
    if (above) {
      const [mark] = (await tx.execute(
        sql`select done_until as "doneUntil" from metric_rollups where resolution = ${above.resolution}`,
      )) as unknown as { doneUntil: string | Date }[];
      // Nothing is rolled up yet: keep everything.
      if (!mark) return 0;
      const rolled = new Date(new Date(mark.doneUntil).getTime() - above.resolution * 1000);
      if (rolled < before) before = rolled;
    }
    let pruned = 0;
    for (const s of SUBJECTS) {
      const [gone] = (await tx.execute(
        sql`with d as (delete from ${sql.raw(s.table)} where resolution = ${tier.resolution} and ts < ${before.toISOString()}::timestamptz returning 1) select count(*)::int as n from d`,
      )) as unknown as { n: number }[];
      pruned += gone?.n ?? 0;
    }
    return pruned;
  });
}

/**
 * Measured usage (see `MeasuredUsage` in @berth/core) of the tenant's pods for every complete hour
 * in [from, to), from the hourly tier; `from` and `to` are taken to whole hours. Run it in the
 * tenant's transaction (`withTenant`): row-level security keeps it to the tenant's own pods.
 */
export async function readMeasuredUsage(
  tx: Tx,
  range: { from: Date; to: Date; clusterId?: string },
): Promise<MeasuredUsage[]> {
  const rows = await tx
    .select({
      clusterId: podMetrics.clusterId,
      podId: podMetrics.podId,
      ownerId: podMetrics.ownerId,
      ts: podMetrics.ts,
      cpuNanos: podMetrics.cpuNanos,
      memoryByteSeconds: podMetrics.memoryByteSeconds,
      windowMs: podMetrics.windowMs,
    })
    .from(podMetrics)
    .where(
      and(
        eq(podMetrics.resolution, 3_600),
        gte(podMetrics.ts, range.from),
        lt(podMetrics.ts, range.to),
        range.clusterId ? eq(podMetrics.clusterId, range.clusterId) : undefined,
      ),
    )
    .orderBy(podMetrics.ts, podMetrics.podId);
  return rows.map((r) => ({
    clusterId: r.clusterId,
    podId: r.podId,
    ownerId: r.ownerId,
    start: r.ts.toISOString(),
    end: new Date(r.ts.getTime() + 3_600_000).toISOString(),
    cpuNanoseconds: r.cpuNanos,
    memoryByteSeconds: r.memoryByteSeconds,
    sampledMs: r.windowMs,
  }));
}
