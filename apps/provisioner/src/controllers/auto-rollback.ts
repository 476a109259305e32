import { type DeploymentRow, deployments, type RevisionRow, restoreRevision } from "@berth/db";
import { eq, sql } from "drizzle-orm";
import { replicaSetName } from "./deployment-revisions";
import { type LoopContext, loopEvent } from "./loop";

/**
 * Berth's extension `spec.autoRollback`: a rollout that missed its progress deadline is rolled back
 * by the controller, as `kubectl rollout undo` would, to the newest earlier revision that once
 * completed — and says so in a Warning event (`RolledBack`). Only a revision that never completed
 * is rolled back from: a release that worked before and stalls now (a node short of capacity) is
 * left for its owner, and two bad revisions never roll back and forth. Returns whether it did.
 */
export async function autoRollback(
  ctx: LoopContext,
  d: DeploymentRow,
  current: RevisionRow,
  revisions: readonly RevisionRow[],
): Promise<boolean> {
  if (current.availableAt) return false;
  const target = revisions
    .filter((r) => r.id !== current.id && r.availableAt !== null)
    .sort((a, b) => b.revision - a.revision)[0];
  if (!target) return false;
  // The API writes deployments under this lock; a pass never waits for it (it holds row locks an
  // apply may be waiting for): it tries again on the next pass.
  const [lock] = await ctx.tx.execute<{ ok: boolean }>(
    sql`select pg_try_advisory_xact_lock(hashtext(${`deployments:${d.clusterId}`})) as ok`,
  );
  if (!lock?.ok) return false;
  // As it is now: an apply may have committed since the pass read it (then that apply wins).
  const [fresh] = await ctx.tx.select().from(deployments).where(eq(deployments.id, d.id)).for("update");
  if (!fresh || fresh.deletedAt || fresh.templateHash !== current.templateHash) return false;
  await restoreRevision(ctx.tx, fresh, target, ctx.now);
  await loopEvent(ctx, {
    kind: "Deployment",
    name: `${d.namespace}/${d.name}`,
    type: "Warning",
    reason: "RolledBack",
    message:
      `Rolled back deployment "${d.name}" to revision ${target.revision} (replica set ${replicaSetName(d, target.templateHash)}): ` +
      `revision ${current.revision} (replica set ${replicaSetName(d, current.templateHash)}) did not progress within ${d.spec.progressDeadlineSeconds ?? 600} s`,
  });
  return true;
}
