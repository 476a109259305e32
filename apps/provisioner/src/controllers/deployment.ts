import { randomBytes } from "node:crypto";
import { newId } from "@berth/core";
import { closeMeters, type deployments, podRequests, pods } from "@berth/db";
import { inArray } from "drizzle-orm";
import type { LoopContext, PodRow } from "./loop";
import { planRollout } from "./rollout";

export type DeploymentRow = typeof deployments.$inferSelect;

/** What one deployment's step changed: pods created (for the scheduler), pods removed, its new status. */
export interface DeploymentStep {
  created: PodRow[];
  removed: number;
  /** The status columns to write, or null when they are unchanged. */
  status: { observedGeneration: number; readyReplicas: number; updatedReplicas: number } | null;
}

/** Marks pods for removal; pods never placed, or on a node that is gone, are removed at once. */
export async function removePods(ctx: LoopContext, victims: readonly PodRow[]): Promise<void> {
  const immediate = victims.filter(
    (p) => !p.nodeId || ctx.nodeById.get(p.nodeId)?.status === "left" || !ctx.nodeById.has(p.nodeId),
  );
  const viaAgent = victims.filter((p) => !immediate.includes(p));
  for (const p of immediate) await closeMeters(ctx.tx, p.id, ctx.now);
  if (immediate.length > 0)
    await ctx.tx.delete(pods).where(
      inArray(
        pods.id,
        immediate.map((p) => p.id),
      ),
    );
  if (viaAgent.length > 0)
    await ctx.tx
      .update(pods)
      .set({ deletionRequestedAt: ctx.now, ready: false })
      .where(
        inArray(
          pods.id,
          viaAgent.map((p) => p.id),
        ),
      );
}

/** New pod rows of the deployment's current template (pending: the scheduler places them). */
async function createPods(ctx: LoopContext, d: DeploymentRow, count: number): Promise<PodRow[]> {
  const requests = podRequests(d.template);
  return ctx.tx
    .insert(pods)
    .values(
      Array.from({ length: count }, () => ({
        id: newId("pod"),
        tenantId: d.tenantId,
        clusterId: d.clusterId,
        deploymentId: d.id,
        ownerKind: "Deployment" as const,
        ownerId: d.id,
        labels: { ...(d.template.metadata?.labels ?? {}), "pod-template-hash": d.templateHash },
        annotations: d.template.metadata?.annotations ?? {},
        namespace: d.namespace,
        name: `${d.name}-${d.templateHash.slice(0, 8)}-${randomBytes(3).toString("hex").slice(0, 5)}`,
        templateHash: d.templateHash,
        template: d.template,
        cpuMillis: requests.cpuMillis,
        memoryBytes: requests.memoryBytes,
      })),
    )
    .returning();
}

/**
 * Moves one deployment one rollout step towards its spec: a deleted deployment loses its pods;
 * a live one gets pods created and removed as `planRollout` says. `own` is its live pods (not
 * already being removed). Writes nothing but pods; the caller writes the returned status.
 */
export async function reconcileDeployment(
  ctx: LoopContext,
  d: DeploymentRow,
  own: readonly PodRow[],
): Promise<DeploymentStep> {
  if (d.deletedAt) {
    if (own.length > 0) await removePods(ctx, own);
    return { created: [], removed: own.length, status: null };
  }
  const step = planRollout(
    { replicas: d.replicas, templateHash: d.templateHash, ...d.template.rollout },
    own.map((x) => ({
      id: x.id,
      templateHash: x.templateHash,
      ready: x.ready,
      scheduled: x.nodeId !== null,
      seq: x.seq,
    })),
  );
  if (step.remove.length > 0) {
    const ids = new Set(step.remove);
    await removePods(
      ctx,
      own.filter((x) => ids.has(x.id)),
    );
  }
  const created = step.create > 0 ? await createPods(ctx, d, step.create) : [];
  const remaining = own.filter((x) => !step.remove.includes(x.id));
  const status = {
    observedGeneration: d.generation,
    readyReplicas: remaining.filter((x) => x.ready).length,
    updatedReplicas: remaining.filter((x) => x.templateHash === d.templateHash).length + step.create,
  };
  const changed =
    status.observedGeneration !== d.observedGeneration ||
    status.readyReplicas !== d.readyReplicas ||
    status.updatedReplicas !== d.updatedReplicas;
  return { created, removed: step.remove.length, status: changed ? status : null };
}
