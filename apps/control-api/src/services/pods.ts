import { BerthError } from "@berth/core";
import {
  deployments,
  nodes,
  objects,
  POD_PHASES,
  pods,
  recordEvent,
  statement,
  type Tx,
  withTenant,
} from "@berth/db";
import { dnsLabelName, dnsSubdomainName, podSpecInputSchema, renderPodSpec } from "@berth/kube";
import { containerStatusSchema } from "@berth/protocol";
import { and, desc, eq, lt, type SQL, sql } from "drizzle-orm";
import { alias } from "drizzle-orm/pg-core";
import { z } from "zod";
import type { Deps, UserCaller } from "../deps";
import { clusterId, loadCluster } from "./clusters";
import { kick } from "./kick";
import { lockWorkloads } from "./objects/apply";
import { namespacedMetaReply } from "./objects/meta";
import { labelSelectorParam, selectorCondition } from "./objects/selector-sql";
import { pageInput, pageInSlices } from "./paging";
import { stopPods } from "./pod-removal";
import { condition, timestamp } from "./replies";

/**
 * Pods in Kubernetes' shape: metadata with the controller that owns them, the spec of their
 * template (ConfigMap and Secret references stay references: a value never appears), and the
 * status their node reports. Pods are made by Deployments and Jobs; a tenant reads and deletes them.
 */
const jobs = alias(objects, "owner_job");

function selectPods(tx: Tx, where: SQL | undefined) {
  return tx
    .select({
      pod: pods,
      nodeName: nodes.name,
      nodeAddress: nodes.address,
      deploymentName: deployments.name,
      jobName: jobs.name,
    })
    .from(pods)
    .leftJoin(nodes, eq(nodes.id, pods.nodeId))
    .leftJoin(deployments, eq(deployments.id, pods.deploymentId))
    .leftJoin(jobs, eq(jobs.id, pods.ownerId))
    .where(where);
}
type PodJoin = Awaited<ReturnType<typeof selectPods>>[number];

function ownerReferences(j: PodJoin) {
  const p = j.pod;
  if (p.ownerKind === "Job" && p.ownerId && j.jobName)
    return [
      {
        apiVersion: "batch/v1",
        kind: "Job",
        name: j.jobName,
        uid: p.ownerId,
        controller: true,
        blockOwnerDeletion: true,
      },
    ];
  if (p.ownerKind === "Deployment" && (p.ownerId ?? p.deploymentId) && j.deploymentName)
    return [
      {
        apiVersion: "apps/v1",
        kind: "Deployment",
        name: j.deploymentName,
        uid: p.ownerId ?? p.deploymentId,
        controller: true,
        blockOwnerDeletion: true,
      },
    ];
  return [];
}

/** Kubernetes' pod conditions: as the node reported them, else derived from what is known. */
function conditionsOf(j: PodJoin) {
  const p = j.pod;
  if (p.conditions.length > 0) return p.conditions;
  const at = (d: Date | null) => (d ?? p.createdAt).toISOString();
  const c = (type: string, ok: boolean, when: Date | null, reason = "") => ({
    type,
    status: ok ? ("True" as const) : ("False" as const),
    reason,
    message: "",
    lastTransitionTime: at(when),
  });
  return [
    c(
      "PodScheduled",
      p.nodeId !== null,
      p.scheduledAt,
      p.nodeId === null && p.reason === "Unschedulable" ? "Unschedulable" : "",
    ),
    c("Initialized", p.startedAt !== null, p.startedAt),
    c("ContainersReady", p.ready, p.readyAt ?? p.startedAt),
    c("Ready", p.ready, p.readyAt ?? p.startedAt),
  ];
}

const ips = z.array(z.strictObject({ ip: z.string() }));

/** A pod in Kubernetes' shape, plus the flat fields the pod list always had. */
export const podReply = z.strictObject({
  apiVersion: z.literal("v1"),
  kind: z.literal("Pod"),
  metadata: namespacedMetaReply,
  spec: podSpecInputSchema
    .extend({ nodeName: z.string().optional() })
    .required({
      restartPolicy: true,
      terminationGracePeriodSeconds: true,
      priority: true,
      securityContext: true,
    })
    .describe("Its template's pod spec, defaults visible, and the node it was placed on"),
  status: z.strictObject({
    phase: z.enum(POD_PHASES),
    conditions: z.array(condition),
    reason: z.string().optional(),
    message: z.string().optional(),
    nominatedNodeName: z.string().optional(),
    hostIP: z.string().nullable(),
    hostIPs: ips.optional(),
    podIP: z.string().nullable(),
    podIPs: ips.optional(),
    startTime: timestamp.nullable(),
    initContainerStatuses: z.array(containerStatusSchema),
    containerStatuses: z.array(containerStatusSchema),
  }),
  id: z.string(),
  name: z.string(),
  namespace: z.string(),
  deployment: z.string().nullable().describe("The Deployment that owns it, if one does"),
  nodeId: z.string().nullable(),
  nodeName: z.string().nullable(),
  phase: z.enum(POD_PHASES),
  ready: z.boolean(),
  podIP: z.string().nullable(),
  terminating: z.boolean(),
  restarts: z.number().int(),
  hostPort: z.number().int().nullable().describe("The first of `hostPorts`"),
  hostPorts: z.array(z.number().int()),
  reason: z.string().nullable(),
  message: z.string().nullable(),
  createdAt: timestamp,
  startedAt: timestamp.nullable(),
});

/** One pod in Kubernetes' shape, plus the flat fields the pod list always had (`nodeName`, `hostPort`, …). */
export function renderPod(j: PodJoin) {
  const p = j.pod;
  const address = j.nodeAddress ?? null;
  return {
    apiVersion: "v1" as const,
    kind: "Pod" as const,
    metadata: {
      name: p.name,
      namespace: p.namespace,
      uid: p.id,
      resourceVersion: String(p.resourceVersion),
      generation: 1,
      creationTimestamp: p.createdAt.toISOString(),
      deletionTimestamp: p.deletionRequestedAt?.toISOString() ?? null,
      labels: p.labels,
      annotations: p.annotations,
      ownerReferences: ownerReferences(j),
    },
    spec: { ...renderPodSpec(p.template), ...(j.nodeName ? { nodeName: j.nodeName } : {}) },
    status: {
      phase: p.phase,
      conditions: conditionsOf(j),
      ...(p.reason ? { reason: p.reason } : {}),
      ...(p.message ? { message: p.message } : {}),
      ...(p.nominatedNodeName ? { nominatedNodeName: p.nominatedNodeName } : {}),
      hostIP: address,
      ...(address ? { hostIPs: [{ ip: address }] } : {}),
      // The pod's own address in its cluster's network, once its node has reported it.
      podIP: p.podIp,
      ...(p.podIp ? { podIPs: [{ ip: p.podIp }] } : {}),
      startTime: (p.startedAt ?? p.scheduledAt)?.toISOString() ?? null,
      initContainerStatuses: p.initContainerStatuses,
      containerStatuses: p.containerStatuses,
    },
    // The pod list's flat fields, kept for the clients that read them.
    id: p.id,
    name: p.name,
    namespace: p.namespace,
    deployment: j.deploymentName,
    nodeId: p.nodeId,
    nodeName: j.nodeName,
    phase: p.phase,
    ready: p.ready,
    podIP: p.podIp,
    terminating: p.deletionRequestedAt !== null,
    restarts: p.restarts,
    hostPort: p.hostPorts[0] ?? null,
    hostPorts: p.hostPorts,
    reason: p.reason,
    message: p.message,
    createdAt: p.createdAt.toISOString(),
    startedAt: p.startedAt?.toISOString() ?? null,
  };
}

export const listPodsInput = pageInput
  .extend({ clusterId, namespace: dnsLabelName.optional(), labelSelector: labelSelectorParam.optional() })
  .strict();

/**
 * A slice of a cluster's pods, newest first, as built statements (drizzle building the join's text
 * anew was a quarter of a pod list's CPU): one per shape, with a namespace or not, from the first
 * pod or after one (the page's cursor, or the slice before). A label selector's list is built per call.
 */
const podSlice = (namespace: boolean, after: boolean) =>
  statement((tx) =>
    selectPods(
      tx,
      and(
        eq(pods.clusterId, sql.placeholder("clusterId")),
        namespace ? eq(pods.namespace, sql.placeholder("namespace")) : undefined,
        after ? lt(pods.id, sql.placeholder("before")) : undefined,
      ),
    )
      .orderBy(desc(pods.id))
      .limit(sql.placeholder("take")),
  );
const podSlices = {
  first: podSlice(false, false),
  after: podSlice(false, true),
  namespaceFirst: podSlice(true, false),
  namespaceAfter: podSlice(true, true),
};

export async function listPods(deps: Deps, caller: UserCaller, input: z.infer<typeof listPodsInput>) {
  return withTenant(deps.db, caller.tenantId, async (tx) => {
    await loadCluster(tx, input.clusterId);
    if (!input.labelSelector)
      return pageInSlices(
        input.limit,
        (before, take) => {
          const after = before ?? input.cursor;
          const slice = input.namespace
            ? after
              ? podSlices.namespaceAfter
              : podSlices.namespaceFirst
            : after
              ? podSlices.after
              : podSlices.first;
          return slice(tx, { clusterId: input.clusterId, namespace: input.namespace, before: after, take });
        },
        renderPod,
        (j) => j.pod.id,
      );
    return pageInSlices(
      input.limit,
      (before, take) =>
        selectPods(
          tx,
          and(
            eq(pods.clusterId, input.clusterId),
            input.namespace ? eq(pods.namespace, input.namespace) : undefined,
            selectorCondition(pods.labels, input.labelSelector),
            input.cursor ? lt(pods.id, input.cursor) : undefined,
            before ? lt(pods.id, before) : undefined,
          ),
        )
          .orderBy(desc(pods.id))
          .limit(take),
      renderPod,
      (j) => j.pod.id,
    );
  });
}

export const podRefInput = z.object({ clusterId, namespace: dnsLabelName, name: dnsSubdomainName }).strict();

async function findPod(tx: Tx, input: z.infer<typeof podRefInput>) {
  const [row] = await selectPods(
    tx,
    and(eq(pods.clusterId, input.clusterId), eq(pods.namespace, input.namespace), eq(pods.name, input.name)),
  );
  if (!row) throw new BerthError("NOT_FOUND", `pods ${JSON.stringify(input.name)} not found`);
  return row;
}

export async function getPod(deps: Deps, caller: UserCaller, input: z.infer<typeof podRefInput>) {
  return withTenant(deps.db, caller.tenantId, async (tx) => {
    await loadCluster(tx, input.clusterId);
    return renderPod(await findPod(tx, input));
  });
}

/**
 * Deletes a pod gracefully: its node stops it (SIGTERM, its grace period, then SIGKILL) and
 * reports it gone; its Deployment or Job makes a new one. A pod never placed goes at once.
 */
export async function deletePod(deps: Deps, caller: UserCaller, input: z.infer<typeof podRefInput>) {
  const view = await withTenant(deps.db, caller.tenantId, async (tx) => {
    await loadCluster(tx, input.clusterId);
    await lockWorkloads(tx, input.clusterId);
    const found = await findPod(tx, input);
    const now = deps.now();
    await stopPods(tx, eq(pods.id, found.pod.id), now);
    await recordEvent(tx, {
      tenantId: found.pod.tenantId,
      clusterId: found.pod.clusterId,
      objectKind: "Pod",
      objectName: found.pod.name,
      namespace: found.pod.namespace,
      objectUid: found.pod.id,
      source: "berth-api",
      reason: "Deleted",
      message: `deleted Pod ${found.pod.namespace}/${found.pod.name}: its node stops it`,
    });
    return renderPod({
      ...found,
      pod: { ...found.pod, deletionRequestedAt: found.pod.deletionRequestedAt ?? now, ready: false },
    });
  });
  await kick(deps, "cluster.reconcile", { tenantId: caller.tenantId, clusterId: input.clusterId });
  return view;
}
