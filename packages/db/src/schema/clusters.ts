import type { ClusterTier } from "@berth/core";
import { sql } from "drizzle-orm";
import { index, integer, jsonb, pgTable, text, timestamp, uniqueIndex } from "drizzle-orm/pg-core";
import { tenantRef } from "./tenant";
import { createdAt } from "./timestamps";

export const CLUSTER_STATUSES = [
  "provisioning",
  "active",
  "updating",
  "deleting",
  "deleted",
  "failed",
] as const;
export type ClusterStatus = (typeof CLUSTER_STATUSES)[number];

/** A cluster whose control plane serves: nodes join, workloads run (also while its key rotates). */
export const isOperational = (status: ClusterStatus): boolean => status === "active" || status === "updating";

/**
 * How the cluster's scheduler scores nodes (kube's NodeResourcesFit `scoringStrategy`): spread
 * (LeastAllocated), bin-pack (MostAllocated) or a utilization shape (RequestedToCapacityRatio).
 */
export interface ClusterScheduling {
  scoringStrategy: {
    type: "LeastAllocated" | "MostAllocated" | "RequestedToCapacityRatio";
    resources?: { name: string; weight: number }[];
    requestedToCapacityRatio?: { shape: { utilization: number; score: number }[] };
  };
}

/**
 * How the cluster's node autoscaler behaves (AKS's cluster autoscaler profile): which pool a
 * scale-up takes (`least-waste`, or `priority`: the pools' `autoscaling.priority`, then least
 * waste), and when a node counts as unneeded: its pods' requests under the threshold of its
 * capacity (the larger of cpu and memory) for `scaleDownUnneededTimeSeconds`, and no scale-up in
 * the cluster for `scaleDownDelayAfterAddSeconds`.
 */
export interface ClusterAutoscalerProfile {
  expander: "least-waste" | "priority";
  scaleDownUtilizationThreshold: number;
  scaleDownUnneededTimeSeconds: number;
  scaleDownDelayAfterAddSeconds: number;
}

export const DEFAULT_AUTOSCALER_PROFILE: ClusterAutoscalerProfile = {
  expander: "least-waste",
  scaleDownUtilizationThreshold: 0.5,
  scaleDownUnneededTimeSeconds: 600,
  scaleDownDelayAfterAddSeconds: 600,
};

export const clusters = pgTable(
  "clusters",
  {
    id: text().primaryKey(),
    tenantId: tenantRef(),
    name: text().notNull(),
    /** `dev` (free, no SLA) or `standard`: which cluster meter its control plane runs on. */
    tier: text().$type<ClusterTier>().notNull().default("standard"),
    /** Resource tags, for IAM conditions (`berth:ResourceTag/<key>`) and for billing reports. */
    tags: jsonb().$type<Record<string, string>>().notNull().default({}),
    status: text({ enum: CLUSTER_STATUSES }).notNull().default("provisioning"),
    scheduling: jsonb()
      .$type<ClusterScheduling>()
      .notNull()
      .default({ scoringStrategy: { type: "LeastAllocated" } }),
    autoscalerProfile: jsonb()
      .$type<ClusterAutoscalerProfile>()
      .notNull()
      .default(DEFAULT_AUTOSCALER_PROFILE),
    statusReason: text(),
    /** The cluster's own token signing key (Ed25519 PKCS#8), envelope-encrypted; null until provisioned and after deletion. */
    signingKeyEnc: text(),
    signingPublicJwk: text(),
    signingKid: text(),
    /** The cluster's data key (AES-256), wrapped by the master key: Secrets are encrypted under it. */
    dataKeyEnc: text(),
    /** After a rotation, the previous key still verifies the node credentials it signed, until they expire. */
    previousPublicJwk: text(),
    previousKeyRetireAt: timestamp({ withTimezone: true }),
    createdAt: createdAt(),
    activeAt: timestamp({ withTimezone: true }),
    deletingAt: timestamp({ withTimezone: true }),
    deletedAt: timestamp({ withTimezone: true }),
    /**
     * The cluster's service range (a /24 of 100.64.0.0/10): clusterIPs and its DNS address come
     * from it. Unique across the platform, so clusters' node agents may share a host. Allocated
     * when first needed (a Service written, a node asking for its network view).
     */
    serviceCidr: text(),
    /**
     * The last control-loop pass that found every node of the cluster not ready and so evicted
     * nothing (the control plane itself may be what failed): a lost node's pods are evicted only
     * once it has been silent for the eviction timeout since then as well.
     */
    evictionsHeldAt: timestamp({ withTimezone: true }),
  },
  (t) => [
    uniqueIndex("clusters_service_cidr_key").on(t.serviceCidr),
    uniqueIndex("clusters_tenant_name_live_key").on(t.tenantId, t.name).where(sql`${t.status} <> 'deleted'`),
    index("clusters_tenant_idx").on(t.tenantId),
  ],
);

export const joinTokens = pgTable(
  "join_tokens",
  {
    id: text().primaryKey(),
    tenantId: tenantRef(),
    clusterId: clusterRef(),
    tokenHash: text().notNull().unique(),
    /** Set for a machine's own token: the node that joins with it is that machine. */
    machineId: text(),
    /** Set for a node pool's token (bring-your-own pools): nodes that join with it get the pool's labels and taints. */
    poolId: text(),
    expiresAt: timestamp({ withTimezone: true }).notNull(),
    usedCount: integer().notNull().default(0),
    /** How many nodes may join with it; null: any number until it expires. */
    maxUses: integer(),
    revokedAt: timestamp({ withTimezone: true }),
    description: text().notNull().default(""),
    /** The principal that created it; null for a machine's own token. */
    createdBy: text(),
    createdAt: createdAt(),
  },
  (t) => [index("join_tokens_cluster_idx").on(t.clusterId)],
);

/** The cluster a row belongs to. */
export function clusterRef() {
  return text()
    .notNull()
    .references(() => clusters.id);
}
