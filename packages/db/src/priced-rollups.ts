import { allocate, METER_NAMES, type Meter, type PriceBookDocument, priceMonth } from "@berth/core";
import { sql } from "drizzle-orm";
import type { Tx } from "./client";
import { monthOf, priceBookOf } from "./invoices";

/** One hourly rollup row of a month with its share of its invoice line's amount. */
export interface PricedRollupRow {
  clusterId: string;
  meter: Meter;
  namespace: string;
  labels: Record<string, string>;
  hour: Date;
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
 */
export async function pricedMonthRollups(
  tx: Tx,
  tenantId: string,
  monthStart: Date,
): Promise<{ book: PriceBookDocument; rows: PricedRollupRow[] }> {
  const end = monthOf(monthStart).end;
  const book = await bookOfMonth(tx, tenantId, monthStart);
  const rows = await tx.execute<{
    cluster_id: string;
    meter: string;
    namespace: string;
    labels: Record<string, string>;
    hour: string;
    raw: string;
  }>(sql`
    select cluster_id, meter, namespace, labels, hour::text, raw::text from usage_hourly
    where tenant_id = ${tenantId} and hour >= ${monthStart.toISOString()}::timestamptz and hour < ${end.toISOString()}::timestamptz
    order by cluster_id, meter, hour, namespace, labels_key`);
  const byLine = new Map<string, PricedRollupRow[]>();
  for (const r of rows) {
    if (!(METER_NAMES as string[]).includes(r.meter)) continue;
    const k = `${r.cluster_id}|${r.meter}`;
    const line = byLine.get(k) ?? [];
    line.push({
      clusterId: r.cluster_id,
      meter: r.meter as Meter,
      namespace: r.namespace,
      labels: r.labels,
      hour: new Date(r.hour),
      raw: BigInt(r.raw),
      micro: 0n,
    });
    byLine.set(k, line);
  }
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
