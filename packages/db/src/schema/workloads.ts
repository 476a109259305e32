import { sql } from "drizzle-orm";
import {
  bigint,
  bigserial,
  boolean,
  index,
  integer,
  jsonb,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
} from "drizzle-orm/pg-core";
import { clusterRef, clusters } from "./clusters";
import { nodes } from "./nodes";
import { tenantRef } from "./tenant";
import { createdAt } from "./timestamps";

/** A container as the control plane stores it: normalised, quantities already integers. */
export interface ContainerTemplate {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env: { name: string; value: string }[];
  ports: { containerPort: number; protocol: "TCP" | "UDP"; name?: string }[];
  /** Requests: what the scheduler reserves. */
  resources: { cpuMillis: number; memoryBytes: number };
  /**
   * Limits the runtime enforces (the requests when the manifest gives none), never below the
   * requests: what a pod may take, and so what is billed (see `podBilledResources`).
   */
  limits: {
    cpuMillis: number;
    memoryBytes: number;
    /**
     * The container's writable layer and logs (`ephemeral-storage`). Absent in templates stored
     * before it existed: DEFAULT_EPHEMERAL_STORAGE_BYTES (@berth/core) applies to them.
     */
    ephemeralStorageBytes?: number;
  };
}

/** A status condition, as Kubernetes objects carry them. */
export interface Condition {
  type: string;
  status: "True" | "False" | "Unknown";
  reason: string;
  message: string;
  lastTransitionTime: string;
}

export interface PodTemplate {
  containers: ContainerTemplate[];
  nodeSelector: Record<string, string>;
  tolerations: { key: string; operator?: "Equal" | "Exists"; value?: string; effect?: string }[];
  priority: number;
  rollout: { maxSurge: number | string; maxUnavailable: number | string };
}

export const deployments = pgTable(
  "deployments",
  {
    id: text().primaryKey(),
    tenantId: tenantRef(),
    clusterId: clusterRef(),
    namespace: text().notNull(),
    name: text().notNull(),
    generation: integer().notNull().default(1),
    replicas: integer().notNull(),
    template: jsonb().$type<PodTemplate>().notNull(),
    templateHash: text().notNull(),
    /** The manifest as the user applied it, returned by GET. */
    manifest: jsonb().$type<Record<string, unknown>>().notNull(),
    labels: jsonb().$type<Record<string, string>>().notNull().default({}),
    observedGeneration: integer().notNull().default(0),
    /** Kubernetes-shaped status conditions (`type`, `status`, `reason`, `message`, `lastTransitionTime`). */
    conditions: jsonb().$type<Condition[]>().notNull().default([]),
    readyReplicas: integer().notNull().default(0),
    updatedReplicas: integer().notNull().default(0),
    createdAt: createdAt(),
    updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    deletedAt: timestamp({ withTimezone: true }),
  },
  (t) => [
    uniqueIndex("deployments_live_key")
      .on(t.clusterId, t.namespace, t.name)
      .where(sql`${t.deletedAt} is null`),
    index("deployments_cluster_idx").on(t.clusterId),
  ],
);

export const POD_PHASES = ["Pending", "Running", "Failed", "Succeeded"] as const;
export type PodPhase = (typeof POD_PHASES)[number];

export const pods = pgTable(
  "pods",
  {
    id: text().primaryKey(),
    tenantId: tenantRef(),
    clusterId: clusterRef(),
    deploymentId: text()
      .notNull()
      .references(() => deployments.id),
    namespace: text().notNull(),
    name: text().notNull(),
    templateHash: text().notNull(),
    template: jsonb().$type<PodTemplate>().notNull(),
    cpuMillis: integer().notNull(),
    memoryBytes: bigint({ mode: "number" }).notNull(),
    /** Monotonic creation order: FIFO tie-break for the scheduler. */
    seq: bigserial({ mode: "number" }).notNull(),
    nodeId: text().references(() => nodes.id),
    hostPorts: jsonb().$type<number[]>().notNull().default([]),
    phase: text({ enum: POD_PHASES }).notNull().default("Pending"),
    ready: boolean().notNull().default(false),
    restarts: integer().notNull().default(0),
    reason: text(),
    message: text(),
    createdAt: createdAt(),
    scheduledAt: timestamp({ withTimezone: true }),
    startedAt: timestamp({ withTimezone: true }),
    stoppedAt: timestamp({ withTimezone: true }),
    /** Set when the pod should go away; the row is removed once its node confirms the containers are gone. */
    deletionRequestedAt: timestamp({ withTimezone: true }),
  },
  (t) => [
    uniqueIndex("pods_cluster_ns_name_key").on(t.clusterId, t.namespace, t.name),
    index("pods_cluster_idx").on(t.clusterId),
    index("pods_node_idx").on(t.nodeId),
    index("pods_deployment_idx").on(t.deploymentId),
  ],
);

export const events = pgTable(
  "events",
  {
    id: text().primaryKey(),
    tenantId: tenantRef(),
    clusterId: text().references(() => clusters.id),
    objectKind: text().notNull(),
    objectName: text().notNull(),
    type: text({ enum: ["Normal", "Warning"] }).notNull(),
    reason: text().notNull(),
    message: text().notNull(),
    createdAt: createdAt(),
  },
  (t) => [index("events_cluster_created_idx").on(t.clusterId, t.createdAt)],
);

/** What a pod of this template asks the scheduler for: the sum of its containers' requests. */
export function podRequests(t: PodTemplate): { cpuMillis: number; memoryBytes: number } {
  return t.containers.reduce(
    (sum, c) => ({
      cpuMillis: sum.cpuMillis + c.resources.cpuMillis,
      memoryBytes: sum.memoryBytes + c.resources.memoryBytes,
    }),
    { cpuMillis: 0, memoryBytes: 0 },
  );
}

/**
 * What a pod of this template is billed for, per unit of time: the sum of its containers' limits
 * (each at least its request), because that is what the pod may take from its node. The one rule
 * every meter of pod CPU and memory uses.
 */
export function podBilledResources(t: PodTemplate): { cpuMillis: number; memoryBytes: number } {
  return t.containers.reduce(
    (sum, c) => ({
      cpuMillis: sum.cpuMillis + Math.max(c.limits.cpuMillis, c.resources.cpuMillis),
      memoryBytes: sum.memoryBytes + Math.max(c.limits.memoryBytes, c.resources.memoryBytes),
    }),
    { cpuMillis: 0, memoryBytes: 0 },
  );
}
