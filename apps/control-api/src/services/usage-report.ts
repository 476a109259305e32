import {
  AMOUNT_DECIMALS,
  divRoundHalfUp,
  formatFixed,
  METERS,
  type Meter,
  QUANTITY_DECIMALS,
  ValidationError,
} from "@berth/core";
import { monthOf, type PricedRollupRow, pricedMonthRollups, withTenant } from "@berth/db";
import { labelKey } from "@berth/protocol";
import { z } from "zod";
import type { Deps, UserCaller } from "../deps";
import { currencyCode, decimal } from "./replies";

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

const reportLineReply = z.strictObject({
  group: z
    .record(z.string(), z.string().nullable())
    .describe(
      "the line's value of each group: clusterId, namespace, meter, day, hour, label:<key> (null: the label is absent)",
    ),
  quantity: decimal
    .optional()
    .describe("only when grouped by meter (quantities of different units do not add up)"),
  unit: z.string().optional(),
  amount: decimal,
});
export const usageReportReply = z.strictObject({
  currency: currencyCode,
  groupBy: z.array(z.string()),
  lines: z.array(reportLineReply).describe("this page's lines, in the order of their groups"),
  total: decimal.describe("the whole report's total, whatever the page"),
  lineCount: z.number().int().describe("how many lines the whole report has"),
  nextCursor: z.string().nullable(),
});
export type UsageReport = z.output<typeof usageReportReply>;

function groupOf(r: PricedRollupRow, groupBy: GroupBy): Record<string, string | null> {
  const g: Record<string, string | null> = {};
  for (const d of groupBy) {
    if (d === "cluster") g.clusterId = r.clusterId;
    else if (d === "namespace") g.namespace = r.namespace;
    else if (d === "meter") g.meter = r.meter;
    else if (d === "day") g.day = r.hour.toISOString().slice(0, 10);
    else if (d === "hour") g.hour = r.hour.toISOString();
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
  page?: { limit: number; cursor?: string | undefined },
): Promise<UsageReport> {
  // A cursor is the last line's group key (opaque to clients): the next page starts after it.
  let after: string | undefined;
  if (page?.cursor !== undefined) {
    after = Buffer.from(page.cursor, "base64url").toString("utf8");
    if (!after.startsWith("{") || Buffer.from(after).toString("base64url") !== page.cursor)
      throw new ValidationError("cursor: not a cursor of this report", [
        { path: "cursor", message: "give the nextCursor of the page before, unchanged" },
      ]);
  }
  const groups = new Map<string, { group: Record<string, string | null>; raw: bigint; micro: bigint }>();
  let currency = "";
  let totalMicro = 0n;
  for (
    let m = monthOf(range.from).start;
    m < range.to;
    m = monthOf(new Date(m.getTime() + 32 * 86_400_000)).start
  ) {
    // Only as fine in time as the report is grouped: the month's rows summed in Postgres.
    const by = groupBy.includes("hour") ? "hour" : groupBy.includes("day") ? "day" : "month";
    const { book, rows } = await withTenant(deps.db, caller.tenantId, (tx) =>
      pricedMonthRollups(tx, caller.tenantId, m, { by, range }),
    );
    currency ||= book.currency;
    for (const r of rows) {
      if (!r.inRange) continue;
      if (filters.clusterId && r.clusterId !== filters.clusterId) continue;
      if (filters.namespace !== undefined && r.namespace !== filters.namespace) continue;
      if (filters.meter && r.meter !== filters.meter) continue;
      if (filters.label && r.labels[filters.label.key] !== filters.label.value) continue;
      const group = groupOf(r, groupBy);
      const key = JSON.stringify(group);
      const g = groups.get(key) ?? { group, raw: 0n, micro: 0n };
      g.raw += r.raw;
      g.micro += r.micro;
      totalMicro += r.micro;
      groups.set(key, g);
    }
  }
  const sorted = [...groups.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const start = after === undefined ? 0 : sorted.findIndex(([key]) => key > after);
  const from = start < 0 ? sorted.length : start;
  const pageOf = page ? sorted.slice(from, from + page.limit) : sorted;
  const last = pageOf.at(-1)?.[0];
  const more = page !== undefined && from + pageOf.length < sorted.length && last !== undefined;
  const lines = pageOf.map(([, g]) => {
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
  return {
    currency: currency || "USD",
    groupBy,
    lines,
    total: formatFixed(totalMicro, AMOUNT_DECIMALS),
    lineCount: sorted.length,
    nextCursor: more ? Buffer.from(last).toString("base64url") : null,
  };
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
