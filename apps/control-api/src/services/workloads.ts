import { ConflictError, NotFoundError, newId, QuotaExceededError } from "@berth/core";
import { deployments, events, isOperational, nodes, pods, recordEvent, type Tx, withTenant } from "@berth/db";
import { and, desc, eq, getTableColumns, isNull, lt, type SQL, sql } from "drizzle-orm";
import { z } from "zod";
import type { Deps, UserCaller } from "../deps";
import { clusterId, loadCluster } from "./clusters";
import { allowedImagePrefixesOf, checkImagesAllowed } from "./image-policy";
import { kick } from "./kick";
import { DNS_LABEL, deploymentManifest, normaliseDeployment } from "./manifest";
import { page, pageInput } from "./paging";

export const MAX_DEPLOYMENTS_PER_CLUSTER = 500;
const dnsLabel = z.string().min(1).max(63).regex(DNS_LABEL, "must be a DNS label");

type DeploymentRow = typeof deployments.$inferSelect;

/**
 * A deployment's live pods, counted in the query that reads it (one query for a page, not one a
 * row). Spelled out in SQL: drizzle leaves columns unqualified in a single-table select, which
 * would make the correlation ambiguous.
 */
const podCount = sql<number>`(select count(*)::int from pods p where p.deployment_id = "deployments"."id" and p.deletion_requested_at is null)`;

/** Live deployments with their pod counts, in one query. */
function selectDeployments(tx: Tx, where: SQL | undefined) {
  return tx
    .select({ ...getTableColumns(deployments), podCount })
    .from(deployments)
    .where(and(isNull(deployments.deletedAt), where));
}

function deploymentView(d: DeploymentRow, podCount: number) {
  const manifestSpec = (d.manifest.spec ?? {}) as Record<string, unknown>;
  return {
    apiVersion: "apps/v1" as const,
    kind: "Deployment" as const,
    metadata: {
      uid: d.id,
      name: d.name,
      namespace: d.namespace,
      labels: d.labels,
      generation: d.generation,
      creationTimestamp: d.createdAt.toISOString(),
      deletionTimestamp: d.deletedAt?.toISOString() ?? null,
    },
    spec: { ...manifestSpec, replicas: d.replicas },
    status: {
      observedGeneration: d.observedGeneration,
      replicas: podCount,
      readyReplicas: d.readyReplicas,
      updatedReplicas: d.updatedReplicas,
      availableReplicas: d.readyReplicas,
      /** Kubernetes-shaped: `ReplicaFailure` (`True`) while the control loop cannot reconcile it, with the reason. */
      conditions: d.conditions,
    },
  };
}

async function liveDeployment(tx: Tx, cluster: string, namespace: string, name: string) {
  const [d] = await selectDeployments(
    tx,
    and(eq(deployments.clusterId, cluster), eq(deployments.namespace, namespace), eq(deployments.name, name)),
  );
  return d;
}

export const applyDeploymentInput = z
  .object({ clusterId, namespace: dnsLabel, name: dnsLabel, manifest: deploymentManifest })
  .strict();

/** Creates or updates a deployment (PUT semantics); the cluster's control loop does the rest. */
export async function applyDeployment(
  deps: Deps,
  caller: UserCaller,
  input: z.infer<typeof applyDeploymentInput>,
) {
  const normal = normaliseDeployment(input.manifest, input);
  const view = await withTenant(deps.db, caller.tenantId, async (tx) => {
    const cluster = await loadCluster(tx, input.clusterId);
    if (!isOperational(cluster.status))
      throw new ConflictError(
        `cluster ${cluster.id} is ${cluster.status}; deployments need an active cluster`,
        "CLUSTER_NOT_ACTIVE",
      );
    checkImagesAllowed(
      [
        ...input.manifest.spec.template.spec.containers,
        ...(input.manifest.spec.template.spec.initContainers ?? []),
      ].map((c) => c.image),
      await allowedImagePrefixesOf(deps, tx, caller.tenantId),
    );
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${`deployments:${cluster.id}`}))`);
    const existing = await liveDeployment(tx, cluster.id, input.namespace, input.name);
    const fields = {
      replicas: normal.replicas,
      template: normal.template,
      templateHash: normal.templateHash,
      manifest: input.manifest as Record<string, unknown>,
      labels: normal.labels,
      annotations: normal.annotations,
      spec: normal.spec,
      updatedAt: deps.now(),
    };
    let row: DeploymentRow | undefined;
    if (existing) {
      const same =
        existing.templateHash === normal.templateHash &&
        existing.replicas === normal.replicas &&
        JSON.stringify(existing.manifest) === JSON.stringify(input.manifest);
      if (same) return deploymentView(existing, existing.podCount);
      [row] = await tx
        .update(deployments)
        .set({ ...fields, generation: existing.generation + 1 })
        .where(eq(deployments.id, existing.id))
        .returning();
    } else {
      const [count] = await tx
        .select({ n: sql<number>`count(*)::int` })
        .from(deployments)
        .where(and(eq(deployments.clusterId, cluster.id), isNull(deployments.deletedAt)));
      if ((count?.n ?? 0) >= MAX_DEPLOYMENTS_PER_CLUSTER)
        throw new QuotaExceededError(`a cluster may have at most ${MAX_DEPLOYMENTS_PER_CLUSTER} deployments`);
      [row] = await tx
        .insert(deployments)
        .values({
          id: newId("deployment"),
          tenantId: cluster.tenantId,
          clusterId: cluster.id,
          namespace: input.namespace,
          name: input.name,
          ...fields,
        })
        .returning();
    }
    if (!row) throw new Error("deployment write returned nothing");
    await recordEvent(tx, {
      tenantId: cluster.tenantId,
      clusterId: cluster.id,
      objectKind: "Deployment",
      objectName: `${input.namespace}/${input.name}`,
      reason: existing ? "Updated" : "Created",
      message: `generation ${row.generation}: ${normal.replicas} replica(s) of template ${normal.templateHash}`,
    });
    // This transaction touched no pods: an update keeps the count it had, a new deployment has none.
    return deploymentView(row, existing?.podCount ?? 0);
  });
  await kick(deps, "cluster.reconcile", { tenantId: caller.tenantId, clusterId: input.clusterId });
  return view;
}

export const deploymentRefInput = z.object({ clusterId, namespace: dnsLabel, name: dnsLabel }).strict();

export async function getDeployment(
  deps: Deps,
  caller: UserCaller,
  input: z.infer<typeof deploymentRefInput>,
) {
  return withTenant(deps.db, caller.tenantId, async (tx) => {
    await loadCluster(tx, input.clusterId);
    const d = await liveDeployment(tx, input.clusterId, input.namespace, input.name);
    if (!d) throw new NotFoundError("deployment", `${input.namespace}/${input.name}`);
    return deploymentView(d, d.podCount);
  });
}

export const listDeploymentsInput = pageInput.extend({ clusterId, namespace: dnsLabel.optional() }).strict();

export async function listDeployments(
  deps: Deps,
  caller: UserCaller,
  input: z.infer<typeof listDeploymentsInput>,
) {
  return withTenant(deps.db, caller.tenantId, async (tx) => {
    await loadCluster(tx, input.clusterId);
    const rows = await selectDeployments(
      tx,
      and(
        eq(deployments.clusterId, input.clusterId),
        input.namespace ? eq(deployments.namespace, input.namespace) : undefined,
        input.cursor ? lt(deployments.id, input.cursor) : undefined,
      ),
    )
      .orderBy(desc(deployments.id))
      .limit(input.limit + 1);
    return page(
      rows.map((d) => ({ id: d.id, ...deploymentView(d, d.podCount) })),
      input.limit,
    );
  });
}

export async function deleteDeployment(
  deps: Deps,
  caller: UserCaller,
  input: z.infer<typeof deploymentRefInput>,
) {
  const view = await withTenant(deps.db, caller.tenantId, async (tx) => {
    await loadCluster(tx, input.clusterId);
    const d = await liveDeployment(tx, input.clusterId, input.namespace, input.name);
    if (!d) throw new NotFoundError("deployment", `${input.namespace}/${input.name}`);
    const [row] = await tx
      .update(deployments)
      .set({ deletedAt: deps.now() })
      .where(eq(deployments.id, d.id))
      .returning();
    await recordEvent(tx, {
      tenantId: d.tenantId,
      clusterId: d.clusterId,
      objectKind: "Deployment",
      objectName: `${d.namespace}/${d.name}`,
      reason: "Deleted",
      message: "deletion requested: its pods will be stopped",
    });
    return deploymentView(row ?? d, d.podCount);
  });
  await kick(deps, "cluster.reconcile", { tenantId: caller.tenantId, clusterId: input.clusterId });
  return view;
}

export const listPodsInput = pageInput.extend({ clusterId, namespace: dnsLabel.optional() }).strict();

export async function listPods(deps: Deps, caller: UserCaller, input: z.infer<typeof listPodsInput>) {
  const rows = await withTenant(deps.db, caller.tenantId, async (tx) => {
    await loadCluster(tx, input.clusterId);
    return tx
      .select({ pod: pods, nodeName: nodes.name, deploymentName: deployments.name })
      .from(pods)
      .leftJoin(nodes, eq(nodes.id, pods.nodeId))
      .innerJoin(deployments, eq(deployments.id, pods.deploymentId))
      .where(
        and(
          eq(pods.clusterId, input.clusterId),
          input.namespace ? eq(pods.namespace, input.namespace) : undefined,
          input.cursor ? lt(pods.id, input.cursor) : undefined,
        ),
      )
      .orderBy(desc(pods.id))
      .limit(input.limit + 1);
  });
  return page(
    rows.map(({ pod: p, nodeName, deploymentName }) => ({
      id: p.id,
      name: p.name,
      namespace: p.namespace,
      deployment: deploymentName,
      nodeId: p.nodeId,
      nodeName,
      phase: p.phase,
      ready: p.ready,
      terminating: p.deletionRequestedAt !== null,
      restarts: p.restarts,
      hostPort: p.hostPorts[0] ?? null,
      hostPorts: p.hostPorts,
      reason: p.reason,
      message: p.message,
      createdAt: p.createdAt.toISOString(),
      startedAt: p.startedAt?.toISOString() ?? null,
    })),
    input.limit,
  );
}

export const listEventsInput = pageInput.extend({ clusterId }).strict();

export async function listEvents(deps: Deps, caller: UserCaller, input: z.infer<typeof listEventsInput>) {
  const rows = await withTenant(deps.db, caller.tenantId, async (tx) => {
    await loadCluster(tx, input.clusterId);
    return tx
      .select()
      .from(events)
      .where(
        and(eq(events.clusterId, input.clusterId), input.cursor ? lt(events.id, input.cursor) : undefined),
      )
      .orderBy(desc(events.id))
      .limit(input.limit + 1);
  });
  return page(
    rows.map((e) => ({
      id: e.id,
      type: e.type,
      reason: e.reason,
      object: `${e.objectKind}/${e.objectName}`,
      message: e.message,
      createdAt: e.createdAt.toISOString(),
    })),
    input.limit,
  );
}
