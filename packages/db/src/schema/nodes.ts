import { sql } from "drizzle-orm";
import {
  bigint,
  boolean,
  index,
  integer,
  jsonb,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
} from "drizzle-orm/pg-core";
import { clusterRef } from "./clusters";
import { tenantRef } from "./tenant";

export const NODE_STATUSES = ["ready", "not_ready", "leaving", "left"] as const;
export type NodeStatus = (typeof NODE_STATUSES)[number];

export interface Taint {
  key: string;
  value?: string;
  effect: "NoSchedule" | "NoExecute" | "PreferNoSchedule";
}

export const nodes = pgTable(
  "nodes",
  {
    id: text().primaryKey(),
    tenantId: tenantRef(),
    clusterId: clusterRef(),
    name: text().notNull(),
    status: text({ enum: NODE_STATUSES }).notNull().default("ready"),
    statusReason: text(),
    unschedulable: boolean().notNull().default(false),
    /**
     * The node is being drained (by a user, or because its machine retires): its pods are evicted
     * as their PodDisruptionBudgets allow, a few at a time, until none is left.
     */
    drainRequestedAt: timestamp({ withTimezone: true }),
    /** Since when the node autoscaler has found the node unneeded (its pods fit elsewhere); null while needed. */
    unneededSince: timestamp({ withTimezone: true }),
    cpuMillis: integer().notNull(),
    memoryBytes: bigint({ mode: "number" }).notNull(),
    maxPods: integer().notNull(),
    /** Extended resources the node offers (`berth.dev/gpu`: count), from its instance type or its agent. */
    extendedResources: jsonb().$type<Record<string, number>>().notNull().default({}),
    portMin: integer().notNull(),
    portMax: integer().notNull(),
    address: text().notNull(),
    labels: jsonb().$type<Record<string, string>>().notNull().default({}),
    taints: jsonb().$type<Taint[]>().notNull().default([]),
    /** Host ports of the node's range that something other than its pods holds (the agent reports them). */
    reservedHostPorts: jsonb().$type<number[]>().notNull().default([]),
    agentVersion: text(),
    /** The port of the node's mutual-TLS tunnel at its address (reported with its certificate request). */
    tunnelPort: integer(),
    /** The node's pod address range (a /24 of 10.32.0.0/11, `@berth/kube`'s pod-range), on first need. */
    podCidr: text(),
    joinedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    lastHeartbeatAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    leftAt: timestamp({ withTimezone: true }),
  },
  (t) => [
    uniqueIndex("nodes_cluster_name_live_key").on(t.clusterId, t.name).where(sql`${t.status} <> 'left'`),
    index("nodes_cluster_idx").on(t.clusterId),
    uniqueIndex("nodes_pod_cidr_live_key").on(t.podCidr).where(sql`${t.status} <> 'left'`),
  ],
);
