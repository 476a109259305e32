import { closeMeters, pods } from "@berth/db";
import { inArray, sql } from "drizzle-orm";
import { type LoopContext, loopEvent, type PodRow } from "./loop";
import { isTerminal } from "./pod-state";

/**
 * Pods on nodes that have been silent past the eviction timeout are replaced elsewhere; their
 * metering ends now. A Deployment's pod row goes (its controller makes another); a Job's running
 * pod fails (`NodeLost`), so that its Job counts the failure, and its row stays with the Job's
 * other finished pods. If the agent comes back it is told to stop what it still runs. Returns the
 * pods that remain (as they are now) and how many were evicted.
 */
export async function evictLostPods(
  ctx: LoopContext,
  podRows: readonly PodRow[],
): Promise<{ remaining: PodRow[]; evicted: number }> {
  const lost = podRows.filter((pod) => {
    const n = pod.nodeId ? ctx.nodeById.get(pod.nodeId) : undefined;
    return (
      !isTerminal(pod) &&
      n?.status === "not_ready" &&
      ctx.now.getTime() - n.lastHeartbeatAt.getTime() > ctx.deps.timings.podEvictionMs
    );
  });
  if (lost.length === 0) return { remaining: [...podRows], evicted: 0 };
  for (const pod of lost) await closeMeters(ctx.tx, pod.id, ctx.now);
  const gone = lost.filter((p) => p.ownerKind !== "Job");
  const failed = lost.filter((p) => p.ownerKind === "Job");
  if (gone.length > 0)
    await ctx.tx.delete(pods).where(
      inArray(
        pods.id,
        gone.map((x) => x.id),
      ),
    );
  const failure = {
    phase: "Failed" as const,
    ready: false,
    reason: "NodeLost",
    message: "the pod's node stopped reporting",
    stoppedAt: ctx.now,
  };
  if (failed.length > 0)
    await ctx.tx
      .update(pods)
      .set({ ...failure, resourceVersion: sql`nextval('resource_versions')` })
      .where(
        inArray(
          pods.id,
          failed.map((x) => x.id),
        ),
      );
  await loopEvent(ctx, {
    kind: "Cluster",
    name: ctx.cluster.name,
    reason: "PodsEvicted",
    message: `${lost.length} pod(s) of unreachable nodes will be replaced`,
    type: "Warning",
  });
  const goneIds = new Set(gone.map((x) => x.id));
  const failedIds = new Set(failed.map((x) => x.id));
  return {
    remaining: podRows
      .filter((x) => !goneIds.has(x.id))
      .map((x) => (failedIds.has(x.id) ? { ...x, ...failure } : x)),
    evicted: lost.length,
  };
}
