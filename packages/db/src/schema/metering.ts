import { sql } from "drizzle-orm";
import { bigint, index, jsonb, pgTable, text, timestamp, uniqueIndex } from "drizzle-orm/pg-core";
import { clusterRef } from "./clusters";
import { tenantRef } from "./tenant";

/**
 * Usage as intervals: a meter runs for a subject (cluster, node, pod) from `startedAt` to `endedAt`
 * at an integer `rate` (1 for a cluster or node; millicores or bytes for a pod's requests). An
 * interval is opened and closed in the same transaction as the state change that causes it, so
 * usage is exactly as durable as the state. At most one open interval per (meter, subject).
 */
export const meterIntervals = pgTable(
  "meter_intervals",
  {
    id: text().primaryKey(),
    tenantId: tenantRef(),
    clusterId: clusterRef(),
    meter: text().notNull(),
    subjectId: text().notNull(),
    rate: bigint({ mode: "bigint" }).notNull(),
    /** A pod's namespace and labels when the interval opened (for rollups by namespace and label). */
    namespace: text().notNull().default(""),
    labels: jsonb().$type<Record<string, string>>().notNull().default({}),
    startedAt: timestamp({ withTimezone: true }).notNull(),
    endedAt: timestamp({ withTimezone: true }),
  },
  (t) => [
    uniqueIndex("meter_intervals_open_key").on(t.meter, t.subjectId).where(sql`${t.endedAt} is null`),
    index("meter_intervals_tenant_time_idx").on(t.tenantId, t.startedAt),
  ],
);
