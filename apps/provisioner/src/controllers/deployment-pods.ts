import { groupBy, newId } from "@berth/core";
import { type DeploymentRow, type PodTemplate, podRequests } from "@berth/db";
import { replicaSetName } from "./deployment-revisions";
import { type LoopContext, loopEvent, type PodRow } from "./loop";
import { generateName } from "./pod-state";
import { insertPods, removePods } from "./pods";

/**
 * A Deployment's pods, made and removed one ReplicaSet (template hash) at a time, with the events
 * Kubernetes writes: `SuccessfulCreate` / `SuccessfulDelete` on the ReplicaSet for each pod, and
 * `ScalingReplicaSet` on the Deployment for each ReplicaSet it scaled.
 */
const ns = (d: DeploymentRow, name: string) => `${d.namespace}/${name}`;

/** Creates `count` pods of one template (its ReplicaSet); `before` is how many it had. */
export async function scaleUp(
  ctx: LoopContext,
  d: DeploymentRow,
  rs: { hash: string; template: PodTemplate },
  count: number,
  before: number,
): Promise<PodRow[]> {
  if (count <= 0) return [];
  const name = replicaSetName(d, rs.hash);
  const requests = podRequests(rs.template);
  const created = await insertPods(
    ctx,
    Array.from({ length: count }, () => ({
      id: newId("pod"),
      tenantId: d.tenantId,
      clusterId: d.clusterId,
      deploymentId: d.id,
      ownerKind: "Deployment" as const,
      ownerId: d.id,
      labels: { ...(rs.template.metadata?.labels ?? {}), "pod-template-hash": rs.hash },
      annotations: rs.template.metadata?.annotations ?? {},
      namespace: d.namespace,
      name: generateName(name),
      templateHash: rs.hash,
      template: rs.template,
      cpuMillis: requests.cpuMillis,
      memoryBytes: requests.memoryBytes,
    })),
  );
  await loopEvent(ctx, {
    kind: "Deployment",
    name: ns(d, d.name),
    reason: "ScalingReplicaSet",
    message: `Scaled up replica set ${name} to ${before + count}`,
  });
  for (const p of created)
    await loopEvent(ctx, {
      kind: "ReplicaSet",
      name: ns(d, name),
      reason: "SuccessfulCreate",
      message: `Created pod: ${p.name}`,
    });
  return created;
}

/** Removes pods, saying which ReplicaSets were scaled down to what; `counts` is each one's active pods before. */
export async function scaleDown(
  ctx: LoopContext,
  d: DeploymentRow,
  victims: readonly PodRow[],
  counts: ReadonlyMap<string, number>,
): Promise<void> {
  if (victims.length === 0) return;
  await removePods(ctx, victims);
  for (const [hash, gone] of groupBy(victims, (p) => p.templateHash)) {
    const name = replicaSetName(d, hash);
    await loopEvent(ctx, {
      kind: "Deployment",
      name: ns(d, d.name),
      reason: "ScalingReplicaSet",
      message: `Scaled down replica set ${name} to ${Math.max(0, (counts.get(hash) ?? gone.length) - gone.length)}`,
    });
    for (const p of gone)
      await loopEvent(ctx, {
        kind: "ReplicaSet",
        name: ns(d, name),
        reason: "SuccessfulDelete",
        message: `Deleted pod: ${p.name}`,
      });
  }
}
