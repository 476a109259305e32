import { BerthError } from "@berth/core";
import { deployments, recordEvent, type Tx, withTenant } from "@berth/db";
import type { deploymentSchema } from "@berth/kube";
import { and, desc, eq, getTableColumns, isNull, lt, type SQL } from "drizzle-orm";
import { z } from "zod";
import type { Deps, UserCaller } from "../deps";
import { clusterId, loadCluster } from "./clusters";
import { kick } from "./kick";
import { DNS_LABEL } from "./manifest";
import { lockWorkloads } from "./objects/apply";
import { putObject } from "./objects/crud";
import { deploymentReply, renderDeployment } from "./objects/deployment-view";
import { notFoundMessage } from "./objects/names";
import { labelSelectorParam, selectorCondition } from "./objects/selector-sql";
import { liveDeployment, podCount } from "./objects/store";
import { pageInput, pageInSlices } from "./paging";

export { MAX_DEPLOYMENTS_PER_CLUSTER } from "./objects/apply";

/**
 * Deployments in the one object model: written through the same admission and apply as every
 * kind (`objects/apply.ts`: namespace must exist, quotas, LimitRanges, images, resourceVersion),
 * stored as their normalised spec in the control loop's own table, and read back in Kubernetes'
 * shape with the status the control loop writes.
 */
const dnsLabel = z.string().min(1).max(63).regex(DNS_LABEL, "must be a DNS label");

/** Live deployments with their pod counts, in one query. */
function selectDeployments(tx: Tx, where: SQL | undefined) {
  return tx
    .select({ ...getTableColumns(deployments), podCount })
    .from(deployments)
    .where(and(isNull(deployments.deletedAt), where));
}

/** A Deployment (apps/v1) as Kubernetes tools write it, typed for the SDK; admission parses it again, naming fields. */
const deploymentManifest = z.custom<z.input<typeof deploymentSchema>>(
  (v) => typeof v === "object" && v !== null && !Array.isArray(v),
  "must be a Deployment object",
);

export const applyDeploymentInput = z
  .object({ clusterId, namespace: dnsLabel, name: dnsLabel, manifest: deploymentManifest })
  .strict();

/** Creates or replaces a deployment (PUT semantics); the cluster's control loop does the rest. */
export async function applyDeployment(
  deps: Deps,
  caller: UserCaller,
  input: z.infer<typeof applyDeploymentInput>,
) {
  return putObject(deps, caller, "Deployment", input);
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
    if (!d) throw new BerthError("NOT_FOUND", notFoundMessage("Deployment", input.name));
    return renderDeployment(d, d.podCount);
  });
}

/** A deployment in a list: its reply with its uid again as `id` (the lists' cursor). */
export const deploymentListItem = deploymentReply.extend({ id: z.string() });

export const listDeploymentsInput = pageInput
  .extend({ clusterId, namespace: dnsLabel.optional(), labelSelector: labelSelectorParam.optional() })
  .strict();

export async function listDeployments(
  deps: Deps,
  caller: UserCaller,
  input: z.infer<typeof listDeploymentsInput>,
) {
  return withTenant(deps.db, caller.tenantId, async (tx) => {
    await loadCluster(tx, input.clusterId);
    return pageInSlices(
      input.limit,
      (before, take) =>
        selectDeployments(
          tx,
          and(
            eq(deployments.clusterId, input.clusterId),
            input.namespace ? eq(deployments.namespace, input.namespace) : undefined,
            selectorCondition(deployments.labels, input.labelSelector),
            input.cursor ? lt(deployments.id, input.cursor) : undefined,
            before ? lt(deployments.id, before) : undefined,
          ),
        )
          .orderBy(desc(deployments.id))
          .limit(take),
      (d) => ({ id: d.id, ...renderDeployment(d, d.podCount) }),
      (d) => d.id,
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
    await lockWorkloads(tx, input.clusterId);
    const d = await liveDeployment(tx, input.clusterId, input.namespace, input.name);
    if (!d) throw new BerthError("NOT_FOUND", notFoundMessage("Deployment", input.name));
    const [row] = await tx
      .update(deployments)
      .set({ deletedAt: deps.now() })
      .where(eq(deployments.id, d.id))
      .returning();
    await recordEvent(tx, {
      tenantId: d.tenantId,
      clusterId: d.clusterId,
      objectKind: "Deployment",
      objectName: d.name,
      namespace: d.namespace,
      objectUid: d.id,
      source: "berth-api",
      reason: "Deleted",
      message: `deleted Deployment ${d.namespace}/${d.name}: its pods will be stopped`,
    });
    return renderDeployment(row ?? d, d.podCount);
  });
  await kick(deps, "cluster.reconcile", { tenantId: caller.tenantId, clusterId: input.clusterId });
  return view;
}
