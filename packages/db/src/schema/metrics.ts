import { bigint, index, integer, pgTable, primaryKey, smallint, text, timestamp } from "drizzle-orm/pg-core";
import { clusterRef } from "./clusters";
import { tenantRef } from "./tenant";

/**
 * The tiers metrics are kept in: `resolution` is the width of a row's bucket in seconds, 0 for the
 * samples as the agents sent them (one per sample interval, 10 s by default). Each tier is kept
 * for `keepSeconds`; the rollup job fills a tier from the one before it (`from`).
 */
export const METRIC_TIERS = [
  { resolution: 0, keepSeconds: 3_600, from: null },
  { resolution: 60, keepSeconds: 86_400, from: 0 },
  { resolution: 3_600, keepSeconds: 35 * 86_400, from: 60 },
] as const;
export type MetricResolution = (typeof METRIC_TIERS)[number]["resolution"];

/** What a pod row and a node row both hold: usage within a window, as exact integers. */
const usageColumns = () => ({
  tenantId: tenantRef(),
  clusterId: clusterRef(),
  resolution: smallint().notNull(),
  /** Raw: when the sample was taken (its window's end). Rolled up: the bucket's start. */
  ts: timestamp({ withTimezone: true }).notNull(),
  /** The time the row's samples cover (a rolled-up bucket: the sum of its samples' windows). */
  windowMs: integer().notNull(),
  /** CPU time used within the window, in nanoseconds. */
  cpuNanos: bigint({ mode: "bigint" }).notNull(),
  /** Working set: raw, at the sample; rolled up, the largest of the bucket. */
  memoryBytes: bigint({ mode: "number" }).notNull(),
  /** Working set integrated over the window (bytes × seconds): what GiB-seconds are measured from. */
  memoryByteSeconds: bigint({ mode: "bigint" }).notNull(),
  rxBytes: bigint({ mode: "number" }).notNull(),
  txBytes: bigint({ mode: "number" }).notNull(),
});

/** Usage of a pod (all its containers), per tier. No foreign key to the pod: its series outlive it. */
export const podMetrics = pgTable(
  "pod_metrics",
  {
    podId: text().notNull(),
    /** The controller that owns the pod (a Deployment's id), for a deployment's series. */
    ownerId: text(),
    ...usageColumns(),
    /** The pod's restarts so far, at the end of the window. */
    restarts: integer().notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.podId, t.resolution, t.ts] }),
    index("pod_metrics_tier_idx").on(t.resolution, t.ts),
    index("pod_metrics_owner_idx").on(t.ownerId, t.resolution, t.ts),
  ],
);

/** Usage of a node as a whole, per tier. */
export const nodeMetrics = pgTable(
  "node_metrics",
  {
    nodeId: text().notNull(),
    ...usageColumns(),
  },
  (t) => [
    primaryKey({ columns: [t.nodeId, t.resolution, t.ts] }),
    index("node_metrics_tier_idx").on(t.resolution, t.ts),
  ],
);

/**
 * How far each rolled-up tier is complete: buckets before `doneUntil` were computed from a tier
 * whose rows for them were all in. The platform's own bookkeeping (no tenant).
 */
export const metricRollups = pgTable("metric_rollups", {
  resolution: smallint().primaryKey(),
  doneUntil: timestamp({ withTimezone: true }).notNull(),
});
