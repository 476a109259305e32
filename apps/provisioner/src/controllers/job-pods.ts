import { createHash } from "node:crypto";
import { newId } from "@berth/core";
import { closeMeters, objects, podRequests, pods } from "@berth/db";
import type { JobSpec } from "@berth/kube";
import { and, eq, sql } from "drizzle-orm";
import { finishedAt, JOB_TRACKING_FINALIZER } from "./job-status";
import { type LoopContext, loopEvent, type PodRow } from "./loop";
import { generateName } from "./pod-state";
import { insertPods, removePods } from "./pods";

export type ObjectRow = typeof objects.$inferSelect;

/** A Job's pods, made and removed with Kubernetes' labels, finalizer and events. */
export const jobEventName = (job: ObjectRow): string => `${job.namespace}/${job.name}`;

/** Creates `count` pods of the Job's template: `<job>-<5 characters>`, labelled as Kubernetes labels them. */
export async function createJobPods(
  ctx: LoopContext,
  job: ObjectRow,
  spec: JobSpec,
  count: number,
): Promise<PodRow[]> {
  if (count <= 0) return [];
  const template = spec.template;
  const requests = podRequests(template);
  const hash = createHash("sha256").update(JSON.stringify(template)).digest("hex").slice(0, 10);
  const created = await insertPods(
    ctx,
    Array.from({ length: count }, () => ({
      id: newId("pod"),
      tenantId: job.tenantId,
      clusterId: job.clusterId,
      deploymentId: null,
      ownerKind: "Job" as const,
      ownerId: job.id,
      labels: {
        ...(template.metadata?.labels ?? {}),
        "batch.kubernetes.io/controller-uid": job.id,
        "batch.kubernetes.io/job-name": job.name,
        "controller-uid": job.id,
        "job-name": job.name,
      },
      annotations: template.metadata?.annotations ?? {},
      finalizers: [JOB_TRACKING_FINALIZER],
      namespace: job.namespace,
      name: generateName(job.name),
      templateHash: hash,
      template,
      cpuMillis: requests.cpuMillis,
      memoryBytes: requests.memoryBytes,
    })),
  );
  for (const p of created)
    await loopEvent(ctx, {
      kind: "Job",
      name: jobEventName(job),
      reason: "SuccessfulCreate",
      message: `Created pod: ${p.name}`,
    });
  return created;
}

/** Removes a Job's running pods (`SuccessfulDelete` for each). */
export async function deleteJobPods(
  ctx: LoopContext,
  job: ObjectRow,
  victims: readonly PodRow[],
): Promise<void> {
  if (victims.length === 0) return;
  await removePods(ctx, victims);
  for (const p of victims)
    await loopEvent(ctx, {
      kind: "Job",
      name: jobEventName(job),
      reason: "SuccessfulDelete",
      message: `Deleted pod: ${p.name}`,
    });
}

/**
 * The Job's finished pods are counted: their tracking finalizer goes (their rows stay until the
 * Job goes) and their metering ends when their containers did.
 */
export async function markCounted(ctx: LoopContext, counted: readonly PodRow[]): Promise<void> {
  for (const p of counted) {
    await closeMeters(ctx.tx, p.id, new Date(Math.min(finishedAt(p), ctx.now.getTime())));
    await ctx.tx
      .update(pods)
      .set({
        finalizers: p.finalizers.filter((f) => f !== JOB_TRACKING_FINALIZER),
        resourceVersion: sql`nextval('resource_versions')`,
      })
      .where(eq(pods.id, p.id));
  }
}

/**
 * A Job going away (deleted, or its TTL after finishing passed): its pods go (all of them as they
 * are now, including any made earlier in this pass), then its row once none is left on a node.
 * Returns whether the row is gone.
 */
export async function deleteJobCascade(ctx: LoopContext, job: ObjectRow): Promise<boolean> {
  const own = await ctx.tx
    .select()
    .from(pods)
    .where(and(eq(pods.ownerKind, "Job"), eq(pods.ownerId, job.id)));
  await removePods(ctx, own);
  const [left] = await ctx.tx
    .select({ n: sql<number>`count(*)::int` })
    .from(pods)
    .where(and(eq(pods.ownerKind, "Job"), eq(pods.ownerId, job.id)));
  if ((left?.n ?? 0) > 0) return false;
  await ctx.tx.delete(objects).where(eq(objects.id, job.id));
  return true;
}
