import type { DeploymentSpec, PodTemplate } from "@berth/kube";
import type { ContainerStatus } from "@berth/protocol";
import { sql } from "drizzle-orm";
import {
  bigint,
  bigserial,
  boolean,
  index,
  integer,
  jsonb,
  pgSequence,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
} from "drizzle-orm/pg-core";
import { clusterRef, clusters } from "./clusters";
import { nodes } from "./nodes";
import { tenantRef } from "./tenant";
import { createdAt } from "./timestamps";

/** A status condition, as Kubernetes objects carry them. */
export interface Condition {
  type: string;
  status: "True" | "False" | "Unknown";
  reason: string;
  message: string;
  lastTransitionTime: string;
  /** A Deployment's conditions also say when they were last updated (the rollout's progress clock). */
  lastUpdateTime?: string;
}

export type { PodTemplate, StoredContainer as ContainerTemplate } from "@berth/kube";

/** A template's tags of Berth's registry resolved: image as written → pinned reference; `failed`: those that could not be. */
export interface ImagePins {
  hash: string;
  images: Record<string, string>;
  failed: string[];
}

/** The monotonic version every write of a Kubernetes-shaped object takes (`metadata.resourceVersion`). */
export const resourceVersions = pgSequence("resource_versions", { startWith: 1 });
const resourceVersion = () => bigint({ mode: "number" }).notNull().default(sql`nextval('resource_versions')`);

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
    labels: jsonb().$type<Record<string, string>>().notNull().default({}),
    annotations: jsonb().$type<Record<string, string>>().notNull().default({}),
    /** The rest of the spec (strategy, minReadySeconds, revisionHistoryLimit, paused, …); `template` and `replicas` have columns. */
    spec: jsonb().$type<Partial<Omit<DeploymentSpec, "template" | "replicas">>>().notNull().default({}),
    resourceVersion: resourceVersion(),
    /** The revision of the current template (`deployment.kubernetes.io/revision`). */
    revision: integer().notNull().default(1),
    observedGeneration: integer().notNull().default(0),
    /** Kubernetes-shaped status conditions (`type`, `status`, `reason`, `message`, `lastTransitionTime`). */
    conditions: jsonb().$type<Condition[]>().notNull().default([]),
    /** Status as the deployment controller last wrote it: `status.replicas` (its live pods), … */
    statusReplicas: integer().notNull().default(0),
    readyReplicas: integer().notNull().default(0),
    updatedReplicas: integer().notNull().default(0),
    availableReplicas: integer().notNull().default(0),
    unavailableReplicas: integer().notNull().default(0),
    /** When the current rollout last made progress (for progressDeadlineSeconds). */
    progressAt: timestamp({ withTimezone: true }),
    /**
     * What the tags of Berth's registry in the template of hash `hash` named when the provisioner
     * resolved them, before making its revision (see `deploymentRevisions.images`).
     */
    imagePins: jsonb().$type<ImagePins>(),
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
    /** Set for a Deployment's pods; a Job's (or a bare pod's) have none. */
    deploymentId: text().references(() => deployments.id),
    /** The controller that owns the pod (Kubernetes' controller ownerReference). */
    ownerKind: text({ enum: ["Deployment", "Job"] })
      .notNull()
      .default("Deployment"),
    ownerId: text(),
    namespace: text().notNull(),
    name: text().notNull(),
    labels: jsonb().$type<Record<string, string>>().notNull().default({}),
    annotations: jsonb().$type<Record<string, string>>().notNull().default({}),
    /** Kubernetes' `metadata.finalizers`: a Job's pods carry `batch.kubernetes.io/job-tracking` until the Job counted them. */
    finalizers: jsonb().$type<string[]>().notNull().default([]),
    resourceVersion: resourceVersion(),
    templateHash: text().notNull(),
    template: jsonb().$type<PodTemplate>().notNull(),
    cpuMillis: integer().notNull(),
    memoryBytes: bigint({ mode: "number" }).notNull(),
    /** Monotonic creation order: FIFO tie-break for the scheduler. */
    seq: bigserial({ mode: "number" }).notNull(),
    nodeId: text().references(() => nodes.id),
    hostPorts: jsonb().$type<number[]>().notNull().default([]),
    /** Kubernetes' `status.podIP`: the pod's address in its cluster's network, as its node reported it. */
    podIp: text(),
    phase: text({ enum: POD_PHASES }).notNull().default("Pending"),
    ready: boolean().notNull().default(false),
    restarts: integer().notNull().default(0),
    reason: text(),
    message: text(),
    /** Kubernetes' `status.containerStatuses` / `initContainerStatuses`, as the node last reported them. */
    containerStatuses: jsonb().$type<ContainerStatus[]>().notNull().default([]),
    initContainerStatuses: jsonb().$type<ContainerStatus[]>().notNull().default([]),
    /** Kubernetes' pod conditions (PodScheduled, Initialized, ContainersReady, Ready). */
    conditions: jsonb().$type<Condition[]>().notNull().default([]),
    /** When it last became ready (minReadySeconds counts from here). */
    readyAt: timestamp({ withTimezone: true }),
    createdAt: createdAt(),
    scheduledAt: timestamp({ withTimezone: true }),
    startedAt: timestamp({ withTimezone: true }),
    stoppedAt: timestamp({ withTimezone: true }),
    /**
     * Kubernetes' `status.nominatedNodeName`: the node where lower-priority pods are being
     * preempted to make room for this one; cleared once it is placed or the nomination lapses.
     */
    nominatedNodeName: text(),
    /** Set when the pod should go away; the row is removed once its node confirms the containers are gone. */
    deletionRequestedAt: timestamp({ withTimezone: true }),
  },
  (t) => [
    uniqueIndex("pods_cluster_ns_name_key").on(t.clusterId, t.namespace, t.name),
    index("pods_cluster_idx").on(t.clusterId),
    index("pods_node_idx").on(t.nodeId),
    index("pods_deployment_idx").on(t.deploymentId),
    index("pods_owner_idx").on(t.ownerId),
  ],
);

/** A Deployment's templates over time (its ReplicaSets, in Kubernetes' terms): rollback goes to one. */
export const deploymentRevisions = pgTable(
  "deployment_revisions",
  {
    id: text().primaryKey(),
    tenantId: tenantRef(),
    clusterId: clusterRef(),
    deploymentId: text()
      .notNull()
      .references(() => deployments.id),
    revision: integer().notNull(),
    templateHash: text().notNull(),
    template: jsonb().$type<PodTemplate>().notNull(),
    /** Why it was made (`kubernetes.io/change-cause`), when the apply said so. */
    changeCause: text(),
    /**
     * The digests its images of Berth's registry were pinned to when it was made: the image as the
     * template writes it → `<host>/<repository>@sha256:…`. Its pods run these.
     */
    images: jsonb().$type<Record<string, string>>().notNull().default({}),
    /** When a rollout of this revision first completed (every replica updated and available). */
    availableAt: timestamp({ withTimezone: true }),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex("deployment_revisions_key").on(t.deploymentId, t.revision),
    index("deployment_revisions_hash_idx").on(t.deploymentId, t.templateHash),
  ],
);

/**
 * Every other kind (Namespace, ConfigMap, Secret, ResourceQuota, LimitRange, Job, CronJob, …) as
 * Kubernetes stores it: metadata, the admitted spec, and status. A Secret's data is never in
 * `spec`: it is in `dataEnc`, envelope-encrypted under the cluster's data key.
 */
export const objects = pgTable(
  "objects",
  {
    id: text().primaryKey(),
    tenantId: tenantRef(),
    clusterId: clusterRef(),
    kind: text().notNull(),
    /** "" for cluster-scoped kinds (Namespace). */
    namespace: text().notNull().default(""),
    name: text().notNull(),
    labels: jsonb().$type<Record<string, string>>().notNull().default({}),
    annotations: jsonb().$type<Record<string, string>>().notNull().default({}),
    spec: jsonb().$type<Record<string, unknown>>().notNull().default({}),
    dataEnc: text(),
    status: jsonb().$type<Record<string, unknown>>().notNull().default({}),
    ownerReferences: jsonb().$type<Record<string, unknown>[]>().notNull().default([]),
    generation: integer().notNull().default(1),
    resourceVersion: resourceVersion(),
    createdAt: createdAt(),
    updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    deletionTimestamp: timestamp({ withTimezone: true }),
  },
  (t) => [
    uniqueIndex("objects_key").on(t.clusterId, t.kind, t.namespace, t.name),
    index("objects_cluster_kind_idx").on(t.clusterId, t.kind),
    /** A clusterIP belongs to one Service of its cluster (headless Services, `None`, have none). */
    uniqueIndex("objects_service_cluster_ip_key")
      .on(t.clusterId, sql`(${t.spec}->>'clusterIP')`)
      .where(sql`${t.kind} = 'Service' and ${t.spec}->>'clusterIP' not in ('', 'None')`),
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
    /** The object's namespace and uid (Kubernetes' involvedObject), when it has them. */
    namespace: text(),
    objectUid: text(),
    /** Who saw it: a node's name, or the control plane's component. */
    source: text(),
    /** Repeats of the same event (same object, reason and message) are counted, not stored again. */
    count: integer().notNull().default(1),
    lastTimestamp: timestamp({ withTimezone: true }).notNull().defaultNow(),
    createdAt: createdAt(),
  },
  (t) => [
    index("events_cluster_created_idx").on(t.clusterId, t.createdAt),
    index("events_dedupe_idx").on(t.clusterId, t.objectKind, t.objectName, t.reason),
  ],
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
