import {
  type DeploymentRow,
  deploymentRevisions,
  deployments,
  pods,
  REVISION_ANNOTATION,
  type RevisionRow,
} from "@berth/db";
import type { DeploymentSpec } from "@berth/kube";
import { and, eq, sql } from "drizzle-orm";
import { autoRollback } from "./auto-rollback";
import { scaleDown, scaleUp } from "./deployment-pods";
import { cleanupHistory, replicaSetName, syncRevisions } from "./deployment-revisions";
import {
  countStatus,
  type DeploymentCondition,
  deploymentConditions,
  REASONS,
  rolloutComplete,
} from "./deployment-status";
import { pinTemplate } from "./image-pins";
import { sameJson } from "./json";
import type { LoopContext, PodRow } from "./loop";
import { isActive, isAvailable, isTerminal } from "./pod-state";
import { removePods } from "./pods";
import { type Plan, type PlanPod, planRecreate, planRolling, planScale, resolveFenceposts } from "./rollout";

export type { DeploymentRow };

/** The condition a deployment carries while the control loop cannot reconcile it. */
export const REPLICA_FAILURE = "ReplicaFailure";

/** The status columns a step writes, compared with the row's (nothing is written when they match). */
export function sameStatus(
  d: DeploymentRow,
  s: Pick<
    DeploymentRow,
    | "observedGeneration"
    | "statusReplicas"
    | "updatedReplicas"
    | "readyReplicas"
    | "availableReplicas"
    | "unavailableReplicas"
    | "revision"
    | "annotations"
    | "conditions"
    | "progressAt"
  >,
): boolean {
  return (
    d.observedGeneration === s.observedGeneration &&
    d.statusReplicas === s.statusReplicas &&
    d.updatedReplicas === s.updatedReplicas &&
    d.readyReplicas === s.readyReplicas &&
    d.availableReplicas === s.availableReplicas &&
    d.unavailableReplicas === s.unavailableReplicas &&
    d.revision === s.revision &&
    d.progressAt?.getTime() === s.progressAt?.getTime() &&
    sameJson(d.annotations, s.annotations) &&
    sameJson(d.conditions, s.conditions)
  );
}

/** What one deployment's step did: pods created (for the scheduler), pods removed, more to do soon. */
export interface DeploymentStep {
  created: PodRow[];
  removed: number;
  /** Another pass should follow at once (the deployment was rolled back). */
  pending: boolean;
}

type Spec = Omit<DeploymentSpec, "template" | "replicas" | "selector">;

/** The deployment's spec, with Kubernetes' defaults for rows written before a field existed. */
export function specOf(d: DeploymentRow): Spec {
  const s = d.spec;
  return {
    strategy: s.strategy ?? { type: "RollingUpdate", ...d.template.rollout },
    minReadySeconds: s.minReadySeconds ?? 0,
    revisionHistoryLimit: s.revisionHistoryLimit ?? 10,
    progressDeadlineSeconds: s.progressDeadlineSeconds ?? 600,
    paused: s.paused ?? false,
    autoRollback: s.autoRollback ?? false,
  };
}

/** Kubernetes' MaxUnavailable: 0 for Recreate and for no replicas, at most `replicas`. */
function maxUnavailableOf(spec: Spec, replicas: number): number {
  if (spec.strategy.type !== "RollingUpdate" || replicas === 0) return 0;
  const { unavailable } = resolveFenceposts(spec.strategy.maxSurge, spec.strategy.maxUnavailable, replicas);
  return Math.min(unavailable, replicas);
}

/** A deleted deployment: its pods go, then its revisions and its row. */
async function deleteDeployment(ctx: LoopContext, d: DeploymentRow, own: PodRow[]): Promise<DeploymentStep> {
  await removePods(ctx, own);
  const [left] = await ctx.tx
    .select({ n: sql<number>`count(*)::int` })
    .from(pods)
    .where(eq(pods.deploymentId, d.id));
  if ((left?.n ?? 0) > 0) return { created: [], removed: own.filter(isActive).length, pending: false };
  await ctx.tx.delete(deploymentRevisions).where(eq(deploymentRevisions.deploymentId, d.id));
  await ctx.tx.delete(deployments).where(eq(deployments.id, d.id));
  return { created: [], removed: own.filter(isActive).length, pending: false };
}

/** What this pass does to the pods: a paused deployment only scales; Recreate; RollingUpdate. */
function plan(d: DeploymentRow, spec: Spec, all: RevisionRow[], own: PodRow[], active: PlanPod[]): Plan {
  if (spec.paused) return planScale(d.replicas, all[0]?.templateHash ?? null, active);
  if (spec.strategy.type === "Recreate") {
    const oldRunning = own.some((p) => p.templateHash !== d.templateHash && !isTerminal(p));
    return planRecreate({ replicas: d.replicas, hash: d.templateHash }, active, oldRunning);
  }
  const { surge, unavailable } = resolveFenceposts(
    spec.strategy.maxSurge,
    spec.strategy.maxUnavailable,
    d.replicas,
  );
  return planRolling({ replicas: d.replicas, hash: d.templateHash, surge, unavailable }, active);
}

/**
 * Moves one deployment one step towards its spec, as Kubernetes' deployment controller syncs one:
 * its revisions (ReplicaSets), the rollout step its strategy allows (or only scaling while paused),
 * its status and conditions, old revisions beyond the history limit, and — Berth's extension — a
 * rollback of a rollout that missed its progress deadline. `own` is every pod row of the deployment.
 */
export async function reconcileDeployment(
  ctx: LoopContext,
  d: DeploymentRow,
  own: PodRow[],
): Promise<DeploymentStep> {
  if (d.deletedAt) return deleteDeployment(ctx, d, own);
  const spec = specOf(d);
  const revisions = await syncRevisions(ctx, d, spec.paused);
  // The pins are resolved before the next pass, outside its transaction: nothing changes till then.
  if (revisions.awaitingPins) return { created: [], removed: 0, pending: true };
  const revisionOf = new Map(revisions.all.map((r) => [r.templateHash, r]));
  const toPlan = (p: PodRow): PlanPod => ({
    id: p.id,
    hash: p.templateHash,
    revision: revisionOf.get(p.templateHash)?.revision ?? 0,
    available: isAvailable(p, spec.minReadySeconds, ctx.now),
    nodeId: p.nodeId,
    phase: p.phase,
    ready: p.ready,
    restarts: p.restarts,
    seq: p.seq,
  });
  const active = own.filter(isActive);
  const step = plan(d, spec, revisions.all, own, active.map(toPlan));

  const before = new Map<string, number>();
  for (const p of active) before.set(p.templateHash, (before.get(p.templateHash) ?? 0) + 1);
  const removed = new Set(step.remove);
  await scaleDown(
    ctx,
    d,
    active.filter((p) => removed.has(p.id)),
    before,
  );
  // Pods run their revision's pinned images (the same digest for every pod of a revision).
  const rs = revisionOf.get(step.createHash ?? "");
  const written = step.createHash === d.templateHash ? d.template : rs?.template;
  const template = written && pinTemplate(written, rs?.images ?? {});
  const created =
    step.createHash && template
      ? await scaleUp(
          ctx,
          d,
          { hash: step.createHash, template },
          step.create,
          before.get(step.createHash) ?? 0,
        )
      : [];

  const after = [...active.filter((p) => !removed.has(p.id)), ...created].map(toPlan);
  const counts = countStatus(after, d.templateHash);
  const previous = {
    replicas: d.statusReplicas,
    updatedReplicas: d.updatedReplicas,
    readyReplicas: d.readyReplicas,
    availableReplicas: d.availableReplicas,
    unavailableReplicas: d.unavailableReplicas,
  };
  const facts = {
    paused: spec.paused,
    progressDeadlineSeconds: spec.progressDeadlineSeconds,
    replicas: d.replicas,
    maxUnavailable: maxUnavailableOf(spec, d.replicas),
    replicaSet: revisions.current ? replicaSetName(d, d.templateHash) : null,
    createdReplicaSet: revisions.created,
    before: previous,
    after: counts,
    progressAt: d.progressAt,
  };
  const conditions = (d.conditions as DeploymentCondition[]).filter((c) => c.type !== REPLICA_FAILURE);
  const next = deploymentConditions(conditions, facts, ctx.now);

  const complete = !spec.paused && revisions.current !== null && rolloutComplete(facts);
  if (spec.paused || complete)
    await cleanupHistory(ctx, revisions, spec.revisionHistoryLimit, new Set(own.map((p) => p.templateHash)));
  if (complete && revisions.current && !revisions.current.availableAt)
    await ctx.tx
      .update(deploymentRevisions)
      .set({ availableAt: ctx.now })
      .where(eq(deploymentRevisions.id, revisions.current.id));

  const revision = revisions.current?.revision ?? d.revision;
  const status = {
    observedGeneration: d.generation,
    statusReplicas: counts.replicas,
    updatedReplicas: counts.updatedReplicas,
    readyReplicas: counts.readyReplicas,
    availableReplicas: counts.availableReplicas,
    unavailableReplicas: counts.unavailableReplicas,
    revision,
    annotations: revisions.current
      ? { ...d.annotations, [REVISION_ANNOTATION]: String(revision) }
      : d.annotations,
    conditions: next.conditions,
    progressAt: next.progressAt,
  };
  if (!sameStatus(d, status)) {
    // Unless the row changed since this pass read it (an apply committed meanwhile): then the next
    // pass, which the apply asked for, works from the new spec.
    const [updated] = await ctx.tx
      .update(deployments)
      .set({ ...status, resourceVersion: sql`nextval('resource_versions')` })
      .where(and(eq(deployments.id, d.id), eq(deployments.resourceVersion, d.resourceVersion)))
      .returning();
    if (!updated) return { created, removed: removed.size, pending: false };
  }

  const timedOut = next.conditions.find((c) => c.type === "Progressing")?.reason === REASONS.timedOut;
  const rolledBack =
    spec.autoRollback && timedOut && revisions.current
      ? await autoRollback(ctx, d, revisions.current, revisions.all)
      : false;
  return { created, removed: removed.size, pending: rolledBack };
}
