import { NotFoundError } from "@berth/core";
import { eq, sql } from "drizzle-orm";
import type { Tx } from "./client";
import { recordEvent } from "./records";
import type { DeploymentRow } from "./rollouts";
import { deployments } from "./schema";

/**
 * Sets a Deployment's `spec.replicas`, as Kubernetes' scale subresource does: a new generation
 * and resourceVersion, and an event saying who scaled it. The one path of a user's scale
 * (`PUT …/deployments/{ns}/{name}/scale`) and the horizontal pod autoscaler's; the deployment
 * controller then creates or removes pods. The caller kicks the cluster's reconcile after commit.
 */
export async function scaleDeployment(
  tx: Tx,
  d: DeploymentRow,
  replicas: number,
  by: { source: string; now: Date },
): Promise<DeploymentRow> {
  if (replicas === d.replicas) return d;
  const [row] = await tx
    .update(deployments)
    .set({
      replicas,
      generation: d.generation + 1,
      updatedAt: by.now,
      resourceVersion: sql`nextval('resource_versions')`,
    })
    .where(eq(deployments.id, d.id))
    .returning();
  if (!row) throw new NotFoundError("deployment", `${d.namespace}/${d.name}`);
  await recordEvent(tx, {
    tenantId: d.tenantId,
    clusterId: d.clusterId,
    objectKind: "Deployment",
    objectName: d.name,
    namespace: d.namespace,
    objectUid: d.id,
    source: by.source,
    reason: "Scaled",
    message: `scaled from ${d.replicas} to ${replicas} replicas`,
  });
  return row;
}
