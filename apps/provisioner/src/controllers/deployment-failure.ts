import { type Condition, deployments } from "@berth/db";
import { eq } from "drizzle-orm";
import { failureMessage } from "../failures";
import { sameConditions, setCondition } from "./conditions";
import { type DeploymentRow, type DeploymentStep, REPLICA_FAILURE, reconcileDeployment } from "./deployment";
import { isolated } from "./isolation";
import { type LoopContext, loopEvent, type PodRow } from "./loop";

/**
 * Records why a deployment could not be reconciled: a `ReplicaFailure` condition (status True,
 * reason ReconcileError) and a Warning event when the condition is new or its message changed,
 * and a log line. In the pass's own transaction, after the deployment's savepoint rolled back.
 */
async function recordFailure(ctx: LoopContext, d: DeploymentRow, error: unknown): Promise<void> {
  const message = `reconciling failed: ${failureMessage(error)}`;
  const before: Condition[] = Array.isArray(d.conditions) ? d.conditions : [];
  const after = setCondition(
    before,
    { type: REPLICA_FAILURE, status: "True", reason: "ReconcileError", message },
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
    reason: "ReconcileError",
    message,
    type: "Warning",
  });
}

/**
 * One deployment's step in its own savepoint: when it fails, only its changes roll back, it says
 * why on its status (a good step later clears it), and the pass goes on. Null for a failed step.
 */
export function reconcileDeploymentIsolated(
  ctx: LoopContext,
  d: DeploymentRow,
  own: PodRow[],
): Promise<DeploymentStep | null> {
  return isolated(
    ctx,
    (inner) => reconcileDeployment(inner, d, own),
    (error) => recordFailure(ctx, d, error),
  );
}
