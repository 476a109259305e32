import {
  idOf,
  instantSchema,
  METER_NAMES,
  type Meter,
  type PricedUsage,
  priceUsage,
  ValidationError,
} from "@berth/core";
import { meterIntervals, withTenant } from "@berth/db";
import { and, eq, sql } from "drizzle-orm";
import { z } from "zod";
import type { Deps, UserCaller } from "../deps";

const MAX_RANGE_DAYS = 366;

export const usageInput = z
  .object({
    from: instantSchema,
    to: instantSchema,
    clusterId: idOf("cluster").optional(),
    format: z.enum(["json", "csv"]).default("json"),
  })
  .strict();

/**
 * Usage and its price between two instants: each meter interval contributes the milliseconds it
 * overlaps the range times its rate, summed exactly in Postgres `numeric`, priced in integers.
 */
export async function getUsage(
  deps: Deps,
  caller: UserCaller,
  input: z.infer<typeof usageInput>,
): Promise<PricedUsage> {
  const from = new Date(input.from);
  const to = new Date(input.to);
  if (!(to > from)) throw new ValidationError("`to` must be after `from`");
  if (to.getTime() - from.getTime() > MAX_RANGE_DAYS * 86_400_000)
    throw new ValidationError(`a usage range may span at most ${MAX_RANGE_DAYS} days`);
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
