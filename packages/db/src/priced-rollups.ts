import { allocate, groupBy, METER_NAMES, type Meter, type PriceBookDocument, priceMonth } from "@berth/core";
import { sql } from "drizzle-orm";
import type { Tx } from "./client";
import { monthOf, priceBookOf } from "./invoices";

/**
 * Rollup rows of a month summed by cluster × meter × namespace × labels × a time bucket, with
 * their share of their invoice line's amount.
 */
export interface PricedRollupRow {
  clusterId: string;
  meter: Meter;
  namespace: string;
  labels: Record<string, string>;
  /** The start of the rows' hour, day or month (as asked). */
  hour: Date;
  /** Whether the rows fall in the range asked for (all do when none was). */
  inRange: boolean;
  raw: bigint;
  /** Micro-units: the row's part of its cluster × meter line, split by quantity (largest remainder). */
  micro: bigint;
}

/** The book a month is priced with: its invoice's once finalised, else the tenant's effective one. */
export async function bookOfMonth(tx: Tx, tenantId: string, start: Date): Promise<PriceBookDocument> {
  const [inv] = await tx.execute<{ book: PriceBookDocument }>(
    sql`select price_book as book from invoices where tenant_id = ${tenantId} and period_start = ${start.toISOString()}::timestamptz`,
  );
  return inv?.book ?? priceBookOf(tx, tenantId);
}

/**
 * A month's rollup rows priced as its invoice prices them: a line per cluster × meter, rounded
 * once, each line's amount split over its rows in proportion to quantity. So any subset of rows
 * (a cluster, a label value, a range of hours) is costed consistently, and all of them add up to
 * the invoice's usage lines to the micro-unit. The usage reports and the budgets both read this.
 * The rows are summed in Postgres by what the caller can tell apart — hours or days only when it
 * asks (`by`), and whether they fall in `range` — so a large tenant's month (millions of hourly
 * rows) comes back as a few hundred.
 */
export async function pricedMonthRollups(
  tx: Tx,
  tenantId: string,
  monthStart: Date,
  opts: { by?: "hour" | "day" | "month"; range?: { from: Date; to: Date } } = {},
): Promise<{ book: PriceBookDocument; rows: PricedRollupRow[] }> {
  const end = monthOf(monthStart).end;
  const book = await bookOfMonth(tx, tenantId, monthStart);
  const by = opts.by ?? "hour";
  const bucket =
    by === "hour"
      ? sql`hour`
      : by === "day"
        ? sql`date_trunc('day', hour at time zone 'UTC') at time zone 'UTC'`
        : sql`${monthStart.toISOString()}::timestamptz`;
  const inRange = opts.range
    ? sql`(hour >= ${opts.range.from.toISOString()}::timestamptz and hour < ${opts.range.to.toISOString()}::timestamptz)`
    : sql`true`;
  const rows = await tx.execute<{
    cluster_id: string;
    meter: string;
    namespace: string;
    labels: Record<string, string>;
    bucket: string;
    in_range: boolean;
    raw: string;
  }>(sql`
    select cluster_id, meter, namespace, labels, (${bucket})::text as bucket, ${inRange} as in_range,
           sum(raw)::text as raw
    from usage_hourly
    where tenant_id = ${tenantId} and hour >= ${monthStart.toISOString()}::timestamptz and hour < ${end.toISOString()}::timestamptz
    group by cluster_id, meter, namespace, labels_key, labels, 5, 6
    order by cluster_id, meter, 5, 6, namespace, labels_key`);
  const byLine = groupBy(
    rows.flatMap((r): PricedRollupRow[] =>
      (METER_NAMES as string[]).includes(r.meter)
        ? [
            {
              clusterId: r.cluster_id,
              meter: r.meter as Meter,
              namespace: r.namespace,
              labels: r.labels,
              hour: new Date(r.bucket),
              inRange: r.in_range,
              raw: BigInt(r.raw),
              micro: 0n,
            },
          ]
        : [],
    ),
    (r) => `${r.clusterId}|${r.meter}`,
  );
  const cells = [...byLine.values()].map((rs) => ({
    clusterId: rs[0]?.clusterId ?? "",
    meter: rs[0]?.meter as Meter,
    raw: rs.reduce((s, r) => s + r.raw, 0n),
  }));
  const out: PricedRollupRow[] = [];
  for (const line of priceMonth(book, cells)) {
    const rs = byLine.get(`${line.clusterId}|${line.meter}`) ?? [];
    const parts = allocate(
      line.amountMicro,
      rs.map((r) => r.raw),
    );
    rs.forEach((r, i) => {
      out.push({ ...r, micro: parts[i] ?? 0n });
    });
  }
  return { book, rows: out };
}
