import { failureMessage } from "../failures";
import { type CronJobStep, reconcileCronJob } from "./cronjob";
import { isolated } from "./isolation";
import { type JobStep, reconcileJob } from "./job";
import type { ObjectRow } from "./job-pods";
import { type LoopContext, loopEvent, type PodRow } from "./loop";

/**
 * A Job or CronJob that cannot be reconciled (a row written past admission) fails its own step:
 * its savepoint rolls back, a Warning event `ReconcileError` says why (repeats are counted), and
 * the pass goes on with the other objects.
 */
async function recordFailure(ctx: LoopContext, o: ObjectRow, error: unknown): Promise<void> {
  ctx.deps.logger.warn(
    { err: error, clusterId: ctx.cluster.id, kind: o.kind, objectId: o.id },
    "object cannot be reconciled; the others go on",
  );
  await loopEvent(ctx, {
    kind: o.kind,
    name: `${o.namespace}/${o.name}`,
    reason: "ReconcileError",
    message: `reconciling failed: ${failureMessage(error)}`,
    type: "Warning",
  });
}

export function reconcileJobIsolated(
  ctx: LoopContext,
  job: ObjectRow,
  own: PodRow[],
): Promise<JobStep | null> {
  return isolated(
    ctx,
    (inner) => reconcileJob(inner, job, own),
    (error) => recordFailure(ctx, job, error),
  );
}

export function reconcileCronJobIsolated(
  ctx: LoopContext,
  cj: ObjectRow,
  jobs: readonly ObjectRow[],
): Promise<CronJobStep | null> {
  return isolated(
    ctx,
    (inner) => reconcileCronJob(inner, cj, jobs),
    (error) => recordFailure(ctx, cj, error),
  );
}
