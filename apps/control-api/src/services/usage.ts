import { idOf, instantSchema, METER_NAMES, type Meter, priceUsage, ValidationError } from "@berth/core";
import { HOUR_MS, meterIntervals, withTenant } from "@berth/db";
import { labelKey } from "@berth/protocol";
import { and, eq, sql } from "drizzle-orm";
import { z } from "zod";
import type { Deps, UserCaller } from "../deps";
import { currencyCode, decimal } from "./replies";
import { groupBySchema, usageReport, usageReportReply } from "./usage-report";

/** A range may span at most this many calendar months. */
const MAX_RANGE_MONTHS = 13;
const DEFAULT_REPORT_PAGE = 5_000;
const MAX_REPORT_PAGE = 50_000;

export const usageInput = z
  .object({
    from: instantSchema,
    to: instantSchema,
    clusterId: idOf("cluster").optional(),
    format: z.enum(["json", "csv"]).default("json"),
    /** Comma-separated: cluster, namespace, meter, day, hour, label:<key>. Reports from the hourly rollups. */
    groupBy: groupBySchema.optional(),
    namespace: z.string().max(253).optional(),
    meter: z.enum(METER_NAMES as [Meter, ...Meter[]]).optional(),
    /** A grouped report's lines per page (JSON; CSV is the whole report), and where the page starts. */
    limit: z.coerce.number().int().min(1).max(MAX_REPORT_PAGE).default(DEFAULT_REPORT_PAGE),
    cursor: z.string().max(4096).optional(),
    /** `key=value` of a cost-allocation label. */
    label: z
      .string()
      .max(400)
      .transform((s, ctx) => {
        const [key = "", ...rest] = s.split("=");
        if (!labelKey.safeParse(key).success || rest.length === 0) {
          ctx.addIssue({ code: "custom", message: "must be <label key>=<value>" });
          return z.NEVER;
        }
        return { key, value: rest.join("=") };
      })
      .optional(),
  })
  .strict();

/** Live usage (no `groupBy`): a line per cluster × meter, priced. */
const pricedUsageReply = z.strictObject({
  currency: currencyCode,
  lines: z.array(
    z.strictObject({
      meter: z.enum(METER_NAMES as [Meter, ...Meter[]]),
      clusterId: z.string(),
      quantity: decimal,
      unit: z.string(),
      unitPrice: decimal,
      amount: decimal,
    }),
  ),
  total: decimal,
});
/** JSON (CSV with `format=csv` is the same value rendered): live usage, or a report when grouped. */
export const usageReply = z.union([pricedUsageReply, usageReportReply]);

const invalid = (path: string, message: string) =>
  new ValidationError(`${path}: ${message}`, [{ path, message }]);

/**
 * Usage and its price between two instants. Without `groupBy`: live, from the meter intervals —
 * each contributes the milliseconds it overlaps the range times its rate, summed exactly in
 * Postgres `numeric`, priced in integers, per cluster × meter. With `groupBy`: from the hourly
 * rollups of closed hours (so `from` and `to` fall on whole hours), grouped and filtered, with
 * amounts that add up to the invoices' (usage-report.ts).
 */
export async function getUsage(
  deps: Deps,
  caller: UserCaller,
  input: z.infer<typeof usageInput>,
): Promise<z.output<typeof usageReply>> {
  const from = new Date(input.from);
  const to = new Date(input.to);
  if (!(to > from)) throw invalid("to", "must be after `from`");
  const limit = new Date(from);
  limit.setUTCMonth(limit.getUTCMonth() + MAX_RANGE_MONTHS);
  if (to > limit) throw invalid("to", `a usage range may span at most ${MAX_RANGE_MONTHS} months`);
  if (input.groupBy) {
    for (const [name, at] of [
      ["from", from],
      ["to", to],
    ] as const)
      if (at.getTime() % HOUR_MS !== 0)
        throw invalid(name, "a grouped report starts and ends on whole hours");
    return usageReport(
      deps,
      caller,
      { from, to },
      input.groupBy,
      {
        clusterId: input.clusterId,
        namespace: input.namespace,
        meter: input.meter,
        label: input.label,
      },
      input.format === "csv" ? undefined : { limit: input.limit, cursor: input.cursor },
    );
  }
  if (input.cursor !== undefined) throw invalid("cursor", "pages are of grouped reports (give groupBy)");
  if (input.namespace !== undefined || input.meter || input.label)
    throw invalid(
      input.meter ? "meter" : input.label ? "label" : "namespace",
      "filters apply to grouped reports (give groupBy)",
    );
  const now = deps.now().toISOString();
  const f = from.toISOString();
  const t = to.toISOString();
  const end = sql`coalesce(${meterIntervals.endedAt}, ${now}::timestamptz)`;
  const overlapMs = sql`floor(extract(epoch from (least(${end}, ${t}::timestamptz) - greatest(${meterIntervals.startedAt}, ${f}::timestamptz))) * 1000)`;
  const rows = await withTenant(deps.db, caller.tenantId, (tx) =>
    tx
      .select({
        meter: meterIntervals.meter,
        clusterId: meterIntervals.clusterId,
        raw: sql<string>`sum(${overlapMs}::numeric * ${meterIntervals.rate})::text`,
      })
      .from(meterIntervals)
      .where(
        and(
          eq(meterIntervals.tenantId, caller.tenantId),
          input.clusterId ? eq(meterIntervals.clusterId, input.clusterId) : undefined,
          sql`${meterIntervals.startedAt} < ${t}::timestamptz`,
          sql`${end} > ${f}::timestamptz`,
        ),
      )
      .groupBy(meterIntervals.clusterId, meterIntervals.meter)
      .orderBy(meterIntervals.clusterId, meterIntervals.meter),
  );
  return priceUsage(
    rows
      .filter((r): r is typeof r & { meter: Meter } => (METER_NAMES as string[]).includes(r.meter))
      .map((r) => ({ meter: r.meter, clusterId: r.clusterId, raw: BigInt(r.raw.split(".")[0] ?? "0") })),
  );
}
