import { CLUSTER_TIERS, ConflictError, idOf, NotFoundError, newId, QuotaExceededError } from "@berth/core";
import {
  CLUSTER_STATUSES,
  clusters,
  DEFAULT_AUTOSCALER_PROFILE,
  joinTokens,
  recordEvent,
  statement,
  type Tx,
  withTenant,
} from "@berth/db";
import { and, desc, eq, lt, ne, sql } from "drizzle-orm";
import { z } from "zod";
import type { Deps, UserCaller } from "../deps";
import {
  autoscalerProfileInput,
  DEFAULT_SCHEDULING,
  schedulingInput,
  withProfile,
} from "./cluster-scheduling";
import { kick } from "./kick";
import { DNS_LABEL } from "./manifest";
import { ensureBuiltInNamespaces } from "./objects/namespaces";
import { page, pageInput } from "./paging";
import { stringMap, timestamp } from "./replies";

export const MAX_CLUSTERS_PER_TENANT = 10;

export const clusterId = idOf("cluster");

export const clusterReply = z.strictObject({
  id: z.string(),
  name: z.string(),
  tier: z.enum(CLUSTER_TIERS),
  tags: stringMap,
  scheduling: schedulingInput,
  autoscalerProfile: autoscalerProfileInput
    .required()
    .describe("Every field set: the defaults with the changes made since"),
  status: z.enum(CLUSTER_STATUSES),
  statusReason: z.string().nullable(),
  createdAt: timestamp,
  activeAt: timestamp.nullable(),
  deletedAt: timestamp.nullable(),
});

/** The columns a cluster's reply is made of (a list reads no more: no key material). */
const viewColumns = {
  id: clusters.id,
  name: clusters.name,
  tier: clusters.tier,
  tags: clusters.tags,
  scheduling: clusters.scheduling,
  autoscalerProfile: clusters.autoscalerProfile,
  status: clusters.status,
  statusReason: clusters.statusReason,
  createdAt: clusters.createdAt,
  activeAt: clusters.activeAt,
  deletedAt: clusters.deletedAt,
};

function view(
  c: Pick<typeof clusters.$inferSelect, keyof typeof viewColumns>,
): z.output<typeof clusterReply> {
  return {
    id: c.id,
    name: c.name,
    tier: c.tier,
    tags: c.tags,
    scheduling: c.scheduling,
    autoscalerProfile: c.autoscalerProfile,
    status: c.status,
    statusReason: c.statusReason,
    createdAt: c.createdAt.toISOString(),
    activeAt: c.activeAt?.toISOString() ?? null,
    deletedAt: c.deletedAt?.toISOString() ?? null,
  };
}

/** Loads a tenant's cluster, or NOT_FOUND (also for another tenant's id: RLS hides it). */
const clusterById = statement((tx) =>
  tx
    .select()
    .from(clusters)
    .where(eq(clusters.id, sql.placeholder("id"))),
);

export async function loadCluster(tx: Tx, id: string) {
  const [c] = await clusterById(tx, { id });
  if (!c) throw new NotFoundError("cluster", id);
  return c;
}

export const tagMap = z
  .record(
    z
      .string()
      .min(1)
      .max(128)
      .regex(/^[A-Za-z0-9_.:/=+@-]+$/, "letters, digits and _.:/=+@-"),
    z.string().max(256),
  )
  .refine((t) => Object.keys(t).length <= 50, "at most 50 tags");

export const createClusterInput = z
  .object({
    name: z
      .string()
      .min(1)
      .max(63)
      .regex(DNS_LABEL, "must be a DNS label (lower-case alphanumerics and '-')"),
    tags: tagMap.optional(),
    /** `standard` (the default; billed per cluster-hour, with the SLA) or `dev` (free, no SLA). */
    tier: z.enum(CLUSTER_TIERS).optional(),
    /** How its scheduler scores nodes (default LeastAllocated); changed later with PATCH. */
    scheduling: schedulingInput.optional(),
    /** How its node autoscaler picks pools and gives nodes back (defaults as AKS's); PATCH changes it. */
    autoscalerProfile: autoscalerProfileInput.optional(),
  })
  .strict();

export async function createCluster(
  deps: Deps,
  caller: UserCaller,
  input: z.infer<typeof createClusterInput>,
) {
  const cluster = await withTenant(deps.db, caller.tenantId, async (tx) => {
    // Serialise creates of one tenant so the quota and the name check cannot race.
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${`clusters:${caller.tenantId}`}))`);
    const live = await tx
      .select({ name: clusters.name })
      .from(clusters)
      .where(and(eq(clusters.tenantId, caller.tenantId), ne(clusters.status, "deleted")));
    if (live.some((c) => c.name === input.name))
      throw new ConflictError(`a cluster named ${JSON.stringify(input.name)} exists`);
    if (live.length >= MAX_CLUSTERS_PER_TENANT)
      throw new QuotaExceededError(`a tenant may have at most ${MAX_CLUSTERS_PER_TENANT} clusters`);
    const [row] = await tx
      .insert(clusters)
      .values({
        id: newId("cluster"),
        tenantId: caller.tenantId,
        name: input.name,
        tags: input.tags ?? {},
        tier: input.tier ?? "standard",
        scheduling: input.scheduling ?? DEFAULT_SCHEDULING,
        autoscalerProfile: withProfile(DEFAULT_AUTOSCALER_PROFILE, input.autoscalerProfile),
        status: "provisioning",
      })
      .returning();
    if (!row) throw new Error("insert returned nothing");
    // Every cluster has Kubernetes' built-in namespaces from the start.
    await ensureBuiltInNamespaces(tx, row);
    await recordEvent(tx, {
      tenantId: caller.tenantId,
      clusterId: row.id,
      objectKind: "Cluster",
      objectName: row.name,
      reason: "Provisioning",
      message: "control plane requested",
    });
    return row;
  });
  // Enqueued after commit. If this process dies in between, the provisioner's sweep finds the
  // cluster still `provisioning` with no job and enqueues it.
  await kick(deps, "cluster.provision", { tenantId: caller.tenantId, clusterId: cluster.id });
  return view(cluster);
}

export const listClustersInput = pageInput.extend({}).strict();

/** A page of the tenant's clusters, newest first: the first page, and pages after a cursor. */
const clusterPage = (after: boolean) =>
  statement((tx) =>
    tx
      .select(viewColumns)
      .from(clusters)
      .where(
        and(
          eq(clusters.tenantId, sql.placeholder("tenantId")),
          after ? lt(clusters.id, sql.placeholder("cursor")) : undefined,
        ),
      )
      .orderBy(desc(clusters.id))
      .limit(sql.placeholder("limit")),
  );
const firstClusters = clusterPage(false);
const clustersAfter = clusterPage(true);

export async function listClusters(deps: Deps, caller: UserCaller, input: z.infer<typeof listClustersInput>) {
  const { tenantId } = caller;
  return deps.reads.get(caller, `clusters\u0000${input.cursor ?? ""}\u0000${input.limit}`, async () => {
    const rows = await withTenant(deps.db, tenantId, (tx) =>
      input.cursor
        ? clustersAfter(tx, { tenantId, cursor: input.cursor, limit: input.limit + 1 })
        : firstClusters(tx, { tenantId, limit: input.limit + 1 }),
    );
    return page(rows.map(view), input.limit);
  });
}

export const clusterRefInput = z.object({ clusterId }).strict();

export async function getCluster(deps: Deps, caller: UserCaller, input: z.infer<typeof clusterRefInput>) {
  return deps.reads.get(caller, `cluster\u0000${input.clusterId}`, async () =>
    view(await withTenant(deps.db, caller.tenantId, (tx) => loadCluster(tx, input.clusterId))),
  );
}

export const updateClusterInput = z
  .object({
    clusterId,
    tags: tagMap.optional(),
    scheduling: schedulingInput.optional(),
    autoscalerProfile: autoscalerProfileInput.optional(),
  })
  .strict();

/** Changes a cluster's tags, scheduling settings or autoscaler profile; the next passes use them. */
export async function updateCluster(
  deps: Deps,
  caller: UserCaller,
  input: z.infer<typeof updateClusterInput>,
) {
  const cluster = await withTenant(deps.db, caller.tenantId, async (tx) => {
    const c = await loadCluster(tx, input.clusterId);
    if (c.status === "deleted" || c.status === "deleting")
      throw new ConflictError(`cluster ${c.id} is ${c.status}`, "CLUSTER_NOT_ACTIVE");
    const [row] = await tx
      .update(clusters)
      .set({
        ...(input.tags ? { tags: input.tags } : {}),
        ...(input.scheduling ? { scheduling: input.scheduling } : {}),
        ...(input.autoscalerProfile
          ? { autoscalerProfile: withProfile(c.autoscalerProfile, input.autoscalerProfile) }
          : {}),
      })
      .where(eq(clusters.id, c.id))
      .returning();
    if (input.scheduling)
      await recordEvent(tx, {
        tenantId: c.tenantId,
        clusterId: c.id,
        objectKind: "Cluster",
        objectName: c.name,
        reason: "SchedulingChanged",
        message: `scoring strategy ${input.scheduling.scoringStrategy.type}`,
      });
    if (input.autoscalerProfile && row)
      await recordEvent(tx, {
        tenantId: c.tenantId,
        clusterId: c.id,
        objectKind: "Cluster",
        objectName: c.name,
        reason: "AutoscalerProfileChanged",
        message: JSON.stringify(row.autoscalerProfile),
      });
    return row ?? c;
  });
  await kick(deps, "cluster.reconcile", { tenantId: caller.tenantId, clusterId: cluster.id });
  return view(cluster);
}

export async function deleteCluster(deps: Deps, caller: UserCaller, input: z.infer<typeof clusterRefInput>) {
  const cluster = await withTenant(deps.db, caller.tenantId, async (tx) => {
    const c = await loadCluster(tx, input.clusterId);
    if (c.status === "deleted" || c.status === "deleting") return c;
    const [row] = await tx
      .update(clusters)
      .set({ status: "deleting", statusReason: "deletion requested", deletingAt: deps.now() })
      .where(eq(clusters.id, c.id))
      .returning();
    await tx.delete(joinTokens).where(eq(joinTokens.clusterId, c.id));
    await recordEvent(tx, {
      tenantId: c.tenantId,
      clusterId: c.id,
      objectKind: "Cluster",
      objectName: c.name,
      reason: "Deleting",
      message: "deletion requested: stopping pods and releasing nodes",
    });
    return row ?? c;
  });
  if (cluster.status !== "deleted")
    await kick(deps, "cluster.delete", { tenantId: caller.tenantId, clusterId: cluster.id });
  return view(cluster);
}

/** Starts a rotation of the cluster's signing key (`active` → `updating` → `active`). */
export async function rotateClusterKey(
  deps: Deps,
  caller: UserCaller,
  input: z.infer<typeof clusterRefInput>,
) {
  const cluster = await withTenant(deps.db, caller.tenantId, async (tx) => {
    const c = await loadCluster(tx, input.clusterId);
    if (c.status === "updating") return c;
    if (c.status !== "active")
      throw new ConflictError(
        `cluster ${c.id} is ${c.status}; only an active cluster's key can rotate`,
        "CLUSTER_NOT_ACTIVE",
      );
    const [row] = await tx
      .update(clusters)
      .set({ status: "updating", statusReason: "rotating its signing key" })
      .where(eq(clusters.id, c.id))
      .returning();
    await recordEvent(tx, {
      tenantId: c.tenantId,
      clusterId: c.id,
      objectKind: "Cluster",
      objectName: c.name,
      reason: "Updating",
      message: "signing key rotation requested",
    });
    return row ?? c;
  });
  await kick(deps, "cluster.rotate-key", { tenantId: caller.tenantId, clusterId: cluster.id });
  return view(cluster);
}
