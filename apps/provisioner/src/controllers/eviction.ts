import { closeMeters, clusters, pods } from "@berth/db";
import { eq, inArray, sql } from "drizzle-orm";
import { evictionHolds, type ZoneHealth, zoneHealth, zoneOf } from "./disruption";
import { type LoopContext, loopEvent, type PodRow } from "./loop";
import { isTerminal } from "./pod-state";

/**
 * Pods on nodes that have been silent past the eviction timeout are replaced elsewhere; their
 * metering ends now. A Deployment's pod row goes (its controller makes another); a Job's running
 * pod fails (`NodeLost`), so that its Job counts the failure, and its row stays with the Job's
 * other finished pods. If the agent comes back it is told to stop what it still runs. Returns the
 * pods that remain (as they are now) and how many were evicted.
 *
 * As Kubernetes' node lifecycle controller, it holds evictions when a disruption looks like the
 * control plane's or the network's rather than the nodes' (disruption.ts): none while no node of
 * the cluster is ready (and the eviction timeout of a node still lost starts again when that ends),
 * none in a zone that lost most of its nodes at once.
 */
export async function evictLostPods(
  ctx: LoopContext,
  podRows: readonly PodRow[],
): Promise<{ remaining: PodRow[]; evicted: number }> {
  const timeoutMs = ctx.deps.timings.podEvictionMs;
  const heldSince = ctx.cluster.evictionsHeldAt?.getTime() ?? 0;
  const candidates = podRows.filter((pod) => {
    const n = pod.nodeId ? ctx.nodeById.get(pod.nodeId) : undefined;
    return (
      !isTerminal(pod) &&
      n?.status === "not_ready" &&
      ctx.now.getTime() - Math.max(n.lastHeartbeatAt.getTime(), heldSince) > timeoutMs
    );
  });
  const holds = evictionHolds(zoneHealth(ctx.nodeById.values()));
  if (holds.everywhere) {
    await ctx.tx.update(clusters).set({ evictionsHeldAt: ctx.now }).where(eq(clusters.id, ctx.cluster.id));
    if (candidates.length > 0)
      await holdEvent(ctx, candidates.length, "every node of the cluster is not ready");
    return { remaining: [...podRows], evicted: 0 };
  }
  const held = new Map(holds.zones.map((z) => [z.zone, z]));
  const zoneOfPod = (pod: PodRow) => zoneOf(ctx.nodeById.get(pod.nodeId ?? "") ?? { labels: {} });
  const lost = candidates.filter((pod) => !held.has(zoneOfPod(pod)));
  for (const z of held.values()) {
    const waiting = candidates.filter((pod) => zoneOfPod(pod) === z.zone).length;
    if (waiting > 0) await holdEvent(ctx, waiting, zoneSummary(z));
  }
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

function zoneSummary(z: ZoneHealth): string {
  const where = z.zone === "" ? "the nodes without a zone" : `zone ${z.zone}`;
  return `${z.notReady} of ${z.ready + z.notReady} nodes of ${where} are not ready at once`;
}

/** Why pods of lost nodes wait: a Warning on the cluster (repeats only count up). */
function holdEvent(ctx: LoopContext, pods: number, why: string): Promise<void> {
  return loopEvent(ctx, {
    kind: "Cluster",
    name: ctx.cluster.name,
    reason: "PodEvictionsHeld",
    message: `${why}: ${pods} pod(s) of lost nodes are not evicted while this lasts (the control plane or the network is the likelier fault); a node still lost afterwards has its pods evicted ${Math.round(ctx.deps.timings.podEvictionMs / 1000)} s later`,
    type: "Warning",
  });
}
