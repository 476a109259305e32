import {
  AMOUNT_DECIMALS,
  allocate,
  divRoundHalfUp,
  formatFixed,
  groupBy as groupItems,
  METER_NAMES,
  METERS,
  type Meter,
  type PriceBookDocument,
  priceMonth,
  QUANTITY_DECIMALS,
} from "@berth/core";
import { monthOf, priceBookOf, type Tx, withTenant } from "@berth/db";
import { labelKey } from "@berth/protocol";
import { sql } from "drizzle-orm";
import { z } from "zod";
import type { Deps, UserCaller } from "../deps";

/**
 * Usage reports from the hourly rollups, grouped by any of cluster, namespace, label:<key>, meter,
 * day, hour. Amounts are exact and add up: each month in the range is priced as its invoice prices
 * it (a line per cluster × meter, rounded once), and each line's amount is split over that line's
 * rollup rows in proportion to their quantity (largest remainder, so the parts sum to the line).
 * A report by label of a whole month therefore adds up to the month's invoice to the micro-unit.
 */
const DIMENSIONS = ["cluster", "namespace", "meter", "day", "hour"] as const;
const dimension = z.string().superRefine((d, ctx) => {
  if ((DIMENSIONS as readonly string[]).includes(d)) return;
  if (d.startsWith("label:")) {
    if (!labelKey.safeParse(d.slice(6)).success)
      ctx.addIssue({ code: "custom", message: `${JSON.stringify(d.slice(6))} is not a label key` });
    return;
  }
  ctx.addIssue({
    code: "custom",
    message: `unknown group ${JSON.stringify(d)}: ${DIMENSIONS.join(", ")} or label:<key>`,
  });
});
export const groupBySchema = z
  .string()
  .transform((s) => s.split(",").map((x) => x.trim()))
  .pipe(z.array(dimension).min(1).max(6));
export type GroupBy = z.infer<typeof groupBySchema>;

export interface ReportFilters {
  clusterId?: string | undefined;
  namespace?: string | undefined;
  meter?: Meter | undefined;
  /** `key=value` of a cost-allocation label. */
  label?: { key: string; value: string } | undefined;
}

export interface ReportLine {
  group: Record<string, string | null>;
  /** Only when grouped by meter (quantities of different units do not add up). */
  quantity?: string;
  unit?: string;
  amount: string;
}
export interface UsageReport {
  currency: string;
  groupBy: string[];
  lines: ReportLine[];
  total: string;
}

/** Rollup rows of a month summed by what the report can tell apart: the hour (or day) only when grouped by it. */
type Row = {
  cluster_id: string;
  meter: string;
  namespace: string;
  labels: Record<string, string>;
  /** The hour or day of the rows summed, or null when the report is not grouped by time. */
  bucket: string | null;
  /** Whether the rows fall in the report's range (outside ones still weigh in their month's lines). */
  in_range: boolean;
  raw: string;
};

async function bookOfMonth(tx: Tx, tenantId: string, start: Date): Promise<PriceBookDocument> {
  const [inv] = await tx.execute<{ book: PriceBookDocument }>(
    sql`select price_book as book from invoices where tenant_id = ${tenantId} and period_start = ${start.toISOString()}::timestamptz`,
  );
  return inv?.book ?? priceBookOf(tx, tenantId);
}

function groupOf(r: Row, groupBy: GroupBy): Record<string, string | null> {
  const at = r.bucket === null ? null : new Date(r.bucket);
  const g: Record<string, string | null> = {};
  for (const d of groupBy) {
    if (d === "cluster") g.clusterId = r.cluster_id;
    else if (d === "namespace") g.namespace = r.namespace;
    else if (d === "meter") g.meter = r.meter;
    else if (d === "day") g.day = at?.toISOString().slice(0, 10) ?? null;
    else if (d === "hour") g.hour = at?.toISOString() ?? null;
    else g[d] = r.labels[d.slice(6)] ?? null;
  }
  return g;
}

/** The report; `from` and `to` on whole hours, at most 13 months apart (checked by the caller). */
export async function usageReport(
  deps: Deps,
  caller: UserCaller,
  range: { from: Date; to: Date },
  groupBy: GroupBy,
  filters: ReportFilters,
): Promise<UsageReport> {
  const groups = new Map<string, { group: Record<string, string | null>; raw: bigint; micro: bigint }>();
  let currency = "";
  let totalMicro = 0n;
  for (
    let m = monthOf(range.from).start;
    m < range.to;
    m = monthOf(new Date(m.getTime() + 32 * 86_400_000)).start
  ) {
    const end = monthOf(m).end;
    // Summed in Postgres: a month of a large tenant is millions of hourly rows, its report a few
    // hundred groups; only a report by hour keeps every hour apart.
    const bucket = groupBy.includes("hour")
      ? sql`hour`
      : groupBy.includes("day")
        ? sql`date_trunc('day', hour at time zone 'UTC') at time zone 'UTC'`
        : sql`null::timestamptz`;
    const inRange = sql`(hour >= ${range.from.toISOString()}::timestamptz and hour < ${range.to.toISOString()}::timestamptz)`;
    const { rows, book } = await withTenant(deps.db, caller.tenantId, async (tx) => ({
      book: await bookOfMonth(tx, caller.tenantId, m),
      rows: [
        ...(await tx.execute<Row>(sql`
          select cluster_id, meter, namespace, labels, (${bucket})::text as bucket, ${inRange} as in_range,
                 sum(raw)::text as raw
          from usage_hourly
          where tenant_id = ${caller.tenantId} and hour >= ${m.toISOString()}::timestamptz and hour < ${end.toISOString()}::timestamptz
          group by cluster_id, meter, namespace, labels_key, labels, 5, 6
          order by cluster_id, meter, 5, 6, namespace, labels_key`)),
      ],
    }));
    currency ||= book.currency;
    const byLine = groupItems(rows, (r) =>
      (METER_NAMES as string[]).includes(r.meter) ? `${r.cluster_id}|${r.meter}` : undefined,
    );
    const cells = [...byLine.values()].map((rs) => ({
      clusterId: rs[0]?.cluster_id ?? "",
      meter: rs[0]?.meter as Meter,
      raw: rs.reduce((s, r) => s + BigInt(r.raw), 0n),
    }));
    for (const line of priceMonth(book, cells)) {
      const rs = byLine.get(`${line.clusterId}|${line.meter}`) ?? [];
      const parts = allocate(
        line.amountMicro,
        rs.map((r) => BigInt(r.raw)),
      );
      rs.forEach((r, i) => {
        if (!r.in_range) return;
        if (filters.clusterId && r.cluster_id !== filters.clusterId) return;
        if (filters.namespace !== undefined && r.namespace !== filters.namespace) return;
        if (filters.meter && r.meter !== filters.meter) return;
        if (filters.label && r.labels[filters.label.key] !== filters.label.value) return;
        const group = groupOf(r, groupBy);
        const key = JSON.stringify(group);
        const g = groups.get(key) ?? { group, raw: 0n, micro: 0n };
        g.raw += BigInt(r.raw);
        g.micro += parts[i] ?? 0n;
        totalMicro += parts[i] ?? 0n;
        groups.set(key, g);
      });
    }
  }
  const lines = [...groups.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, g]) => {
      const meter = g.group.meter as Meter | undefined;
      const quantity = meter
        ? {
            quantity: formatFixed(
              divRoundHalfUp(g.raw * 1_000_000n, METERS[meter].rawPerUnit),
              QUANTITY_DECIMALS,
            ),
            unit: METERS[meter].unit,
          }
        : {};
      return { group: g.group, ...quantity, amount: formatFixed(g.micro, AMOUNT_DECIMALS) };
    });
  return { currency: currency || "USD", groupBy, lines, total: formatFixed(totalMicro, AMOUNT_DECIMALS) };
}

function csvField(value: string): string {
  return /[",\n\r]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/** The report as CSV: a column per group, then quantity and unit (when grouped by meter), amount, currency. */
export function reportToCsv(r: UsageReport): string {
  const dims = r.groupBy.map((d) => (d === "cluster" ? "clusterId" : d));
  const withQuantity = r.groupBy.includes("meter");
  const header = [...dims, ...(withQuantity ? ["quantity", "unit"] : []), "amount", "currency"];
  const out = [header.join(",")];
  for (const l of r.lines)
    out.push(
      [
        ...dims.map((d) => l.group[d] ?? ""),
        ...(withQuantity ? [l.quantity ?? "", l.unit ?? ""] : []),
        l.amount,
        r.currency,
      ]
        .map(csvField)
        .join(","),
    );
  out.push(
    [
      ...dims.map((_, i) => (i === 0 ? "total" : "")),
      ...(withQuantity ? ["", ""] : []),
      r.total,
      r.currency,
    ].join(","),
  );
  return `${out.join("\n")}\n`;
}
