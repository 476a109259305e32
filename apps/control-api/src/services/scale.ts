import { BerthError } from "@berth/core";
import { scaleDeployment, withTenant } from "@berth/db";
import { z } from "zod";
import type { Deps, UserCaller } from "../deps";
import { loadCluster } from "./clusters";
import { kick } from "./kick";
import { lockWorkloads } from "./objects/apply";
import { notFoundMessage } from "./objects/names";
import { liveDeployment } from "./objects/store";
import { deploymentRefInput } from "./workloads";

/** Kubernetes' Scale (autoscaling/v1) as the scale subresource answers. */
export const scaleReply = z.strictObject({
  apiVersion: z.literal("autoscaling/v1"),
  kind: z.literal("Scale"),
  metadata: z.strictObject({
    name: z.string(),
    namespace: z.string(),
    uid: z.string(),
    resourceVersion: z.string(),
  }),
  spec: z.strictObject({ replicas: z.number().int() }),
  status: z.strictObject({ replicas: z.number().int() }).describe("The deployment's live pods"),
});

export const scaleDeploymentInput = deploymentRefInput
  .extend({
    scale: z
      .object({
        apiVersion: z.literal("autoscaling/v1").optional(),
        kind: z.literal("Scale").optional(),
        metadata: z.record(z.string(), z.unknown()).optional(),
        spec: z.object({ replicas: z.number().int().min(0).max(10_000) }).strict(),
        status: z.unknown().optional(),
      })
      .strict(),
  })
  .strict();

/**
 * `PUT …/deployments/{ns}/{name}/scale` (kubectl scale): sets `spec.replicas` through the one scale
 * path the horizontal pod autoscaler uses too (`scaleDeployment` of @berth/db).
 */
export async function scaleDeploymentOp(
  deps: Deps,
  caller: UserCaller,
  input: z.infer<typeof scaleDeploymentInput>,
): Promise<z.output<typeof scaleReply>> {
  const row = await withTenant(deps.db, caller.tenantId, async (tx) => {
    await loadCluster(tx, input.clusterId);
    await lockWorkloads(tx, input.clusterId);
    const d = await liveDeployment(tx, input.clusterId, input.namespace, input.name);
    if (!d) throw new BerthError("NOT_FOUND", notFoundMessage("Deployment", input.name));
    return scaleDeployment(tx, d, input.scale.spec.replicas, { source: "berth-api", now: deps.now() });
  });
  await kick(deps, "cluster.reconcile", { tenantId: caller.tenantId, clusterId: input.clusterId });
  return {
    apiVersion: "autoscaling/v1",
    kind: "Scale",
    metadata: {
      name: row.name,
      namespace: row.namespace,
      uid: row.id,
      resourceVersion: String(row.resourceVersion),
    },
    spec: { replicas: row.replicas },
    status: { replicas: row.statusReplicas },
  };
}
