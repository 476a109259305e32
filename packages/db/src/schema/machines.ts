import { sql } from "drizzle-orm";
import { boolean, index, integer, jsonb, pgTable, text, timestamp, uniqueIndex } from "drizzle-orm/pg-core";
import { clusterRef } from "./clusters";
import type { Taint } from "./nodes";
import { tenantRef } from "./tenant";
import { createdAt } from "./timestamps";
import type { Condition } from "./workloads";

export const PROVIDERS = ["ec2", "local-vm", "byo"] as const;
export type ProviderName = (typeof PROVIDERS)[number];

export const nodePools = pgTable(
  "node_pools",
  {
    id: text().primaryKey(),
    tenantId: tenantRef(),
    clusterId: clusterRef(),
    name: text().notNull(),
    provider: text({ enum: PROVIDERS }).notNull(),
    instanceType: text().notNull(),
    minSize: integer().notNull(),
    maxSize: integer().notNull(),
    desiredSize: integer().notNull(),
    /** The node autoscaler sets desiredSize within minSize..maxSize (ec2 and local-vm pools only). */
    autoscalingEnabled: boolean().notNull().default(false),
    /** With the cluster's `priority` expander, scale-ups take the highest-priority pool that helps. */
    autoscalingPriority: integer().notNull().default(0),
    labels: jsonb().$type<Record<string, string>>().notNull().default({}),
    taints: jsonb().$type<Taint[]>().notNull().default([]),
    /**
     * The `topology.kubernetes.io/zone` of the pool's nodes, for pools whose machines Berth does not
     * launch (byo); an ec2 machine's zone is its instance's availability zone.
     */
    zone: text(),
    status: text({ enum: ["active", "deleting", "deleted"] })
      .notNull()
      .default("active"),
    createdAt: createdAt(),
    updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    deletedAt: timestamp({ withTimezone: true }),
  },
  (t) => [
    uniqueIndex("node_pools_cluster_name_live_key")
      .on(t.clusterId, t.name)
      .where(sql`${t.status} <> 'deleted'`),
    index("node_pools_cluster_idx").on(t.clusterId),
  ],
);

/**
 * A machine Berth runs for a node pool. The row is written before the provider is asked for it
 * (the row's id is the launch's idempotency token and a tag on the instance), so that a crash at
 * any point leaves either a row to resume from or an instance that names its row.
 *
 *   pending → launching (instance exists) → running (its node joined) → terminating → terminated
 *      └── terminated, "launch failed: …" (the provider refused the launch for good)
 */
export const MACHINE_STATUSES = ["pending", "launching", "running", "terminating", "terminated"] as const;
export type MachineStatus = (typeof MACHINE_STATUSES)[number];

export const machines = pgTable(
  "machines",
  {
    id: text().primaryKey(),
    tenantId: tenantRef(),
    clusterId: clusterRef(),
    poolId: text()
      .notNull()
      .references(() => nodePools.id),
    provider: text({ enum: PROVIDERS }).notNull(),
    instanceType: text().notNull(),
    status: text({ enum: MACHINE_STATUSES }).notNull().default("pending"),
    statusReason: text(),
    /** The provider's id for it (EC2 instance id), once known. */
    instanceId: text(),
    /** The node name its agent joins under. */
    nodeName: text().notNull(),
    /** Where the provider put it (an EC2 availability zone): its node's `topology.kubernetes.io/zone`. */
    zone: text(),
    nodeId: text(),
    createdAt: createdAt(),
    launchedAt: timestamp({ withTimezone: true }),
    joinedAt: timestamp({ withTimezone: true }),
    terminateRequestedAt: timestamp({ withTimezone: true }),
    terminatedAt: timestamp({ withTimezone: true }),
  },
  (t) => [index("machines_cluster_idx").on(t.clusterId), index("machines_pool_idx").on(t.poolId)],
);

/** The status reason of a machine whose launch the provider refused for good (it never had an instance). */
export const LAUNCH_FAILED = "launch failed: ";

/** Whether a machine ended because its provider refused to launch it (not worth launching again as it is). */
export function isLaunchFailure(m: { status: MachineStatus; statusReason: string | null }): boolean {
  return m.status === "terminated" && (m.statusReason?.startsWith(LAUNCH_FAILED) ?? false);
}

/**
 * The condition a pool carries while a launch refused for good (its latest, `failure`) is newer
 * than the pool's last update: it adds no machines until it is updated, since the same launch
 * would be refused again. Null when the pool may launch.
 */
export function launchFailureCondition(
  pool: { updatedAt: Date },
  failure: { statusReason: string | null; terminatedAt: Date | null; nodeName: string } | undefined,
): Condition | null {
  if (!failure?.terminatedAt || failure.terminatedAt < pool.updatedAt) return null;
  const reason = (failure.statusReason ?? "").slice(LAUNCH_FAILED.length);
  return {
    type: "LaunchFailure",
    status: "True",
    reason: "ProviderRefused",
    message: `machine ${failure.nodeName}: ${reason}; no machine is launched until the pool is updated`,
    lastTransitionTime: failure.terminatedAt.toISOString(),
  };
}
