import { closeMeters, pods } from "@berth/db";
import { inArray } from "drizzle-orm";
import { type LoopContext, loopEvent, type PodRow } from "./loop";

/**
 * Pods on nodes that have been silent past the eviction timeout are replaced elsewhere. Their rows
 * go now (their metering ends); if the agent comes back it is told to stop what it still runs.
 * Returns the pods that remain and how many were evicted.
 */
export async function evictLostPods(
  ctx: LoopContext,
  podRows: readonly PodRow[],
): Promise<{ remaining: PodRow[]; evicted: number }> {
  const lost = podRows.filter((pod) => {
    const n = pod.nodeId ? ctx.nodeById.get(pod.nodeId) : undefined;
    return (
      n?.status === "not_ready" &&
      ctx.now.getTime() - n.lastHeartbeatAt.getTime() > ctx.deps.timings.podEvictionMs
    );
  });
  if (lost.length === 0) return { remaining: [...podRows], evicted: 0 };
  for (const pod of lost) await closeMeters(ctx.tx, pod.id, ctx.now);
  await ctx.tx.delete(pods).where(
    inArray(
      pods.id,
      lost.map((x) => x.id),
    ),
  );
  await loopEvent(ctx, {
    kind: "Cluster",
    name: ctx.cluster.name,
    reason: "PodsEvicted",
    message: `${lost.length} pod(s) of unreachable nodes will be replaced`,
    type: "Warning",
  });
  const lostIds = new Set(lost.map((x) => x.id));
  return { remaining: podRows.filter((x) => !lostIds.has(x.id)), evicted: lost.length };
}
