import { type Condition, deployments } from "@berth/db";
import { eq } from "drizzle-orm";
import { failureMessage } from "../failures";
import { removeCondition, sameConditions, setCondition } from "./conditions";
import { type DeploymentRow, type DeploymentStep, reconcileDeployment } from "./deployment";
import { type LoopContext, loopEvent, type PodRow, withTx } from "./loop";

/** The condition a deployment carries while the control loop cannot reconcile it. */
export const REPLICA_FAILURE = "ReplicaFailure";
export const RECONCILE_ERROR = "ReconcileError";

function conditionsOf(d: DeploymentRow): Condition[] {
  return Array.isArray(d.conditions) ? d.conditions : [];
}

/** Writes the deployment's status after a good step; a ReplicaFailure it carried is cleared. */
async function writeStatus(ctx: LoopContext, d: DeploymentRow, step: DeploymentStep): Promise<void> {
  const conditions = removeCondition(conditionsOf(d), REPLICA_FAILURE);
  const clearing = !sameConditions(conditions, conditionsOf(d));
  if (!step.status && !clearing) return;
  await ctx.tx
    .update(deployments)
    .set({ ...(step.status ?? {}), ...(clearing ? { conditions } : {}) })
    .where(eq(deployments.id, d.id));
}

/**
 * Records why a deployment could not be reconciled: a `ReplicaFailure` condition (status True,
 * reason ReconcileError) and a Warning event when the condition is new or its message changed,
 * and a log line. In the pass's own transaction, after the deployment's savepoint rolled back.
 */
async function recordFailure(ctx: LoopContext, d: DeploymentRow, error: unknown): Promise<void> {
  const message = `reconciling failed: ${failureMessage(error)}`;
  const before = conditionsOf(d);
  const after = setCondition(
    before,
    { type: REPLICA_FAILURE, status: "True", reason: RECONCILE_ERROR, message },
    ctx.now,
  );
  const log = { err: error, clusterId: ctx.cluster.id, deploymentId: d.id };
  if (sameConditions(before, after)) {
    ctx.deps.logger.debug(log, "deployment still cannot be reconciled");
    return;
  }
  ctx.deps.logger.warn(log, "deployment cannot be reconciled; the others go on");
  await ctx.tx.update(deployments).set({ conditions: after }).where(eq(deployments.id, d.id));
  await loopEvent(ctx, {
    kind: "Deployment",
    name: `${d.namespace}/${d.name}`,
    reason: RECONCILE_ERROR,
    message,
    type: "Warning",
  });
}

/**
 * One deployment's step in a savepoint of the pass's transaction (drizzle nests `transaction` as a
 * SAVEPOINT): when it fails, only its own changes roll back, it says why on its status, and the
 * pass goes on with the other deployments. Returns null for a deployment that failed.
 */
export async function reconcileDeploymentIsolated(
  ctx: LoopContext,
  d: DeploymentRow,
  own: readonly PodRow[],
): Promise<DeploymentStep | null> {
  try {
    return await ctx.tx.transaction(async (savepoint) => {
      const inner = withTx(ctx, savepoint);
      const step = await reconcileDeployment(inner, d, own);
      await writeStatus(inner, d, step);
      return step;
    });
  } catch (error) {
    await recordFailure(ctx, d, error);
    return null;
  }
}
