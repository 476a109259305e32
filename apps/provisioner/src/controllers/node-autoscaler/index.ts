import { clusters, isOperational, machines, nodePools, nodes, withTenant } from "@berth/db";
import { and, eq, inArray, isNull } from "drizzle-orm";
import type { Deps } from "../../deps";
import { retireIn } from "../../jobs/machines";
import { loopEvent } from "../loop";
import { planScaleDown } from "./scale-down";
import { planScaleUp } from "./scale-up";
import { type AutoscalerWorld, readWorld } from "./world";

export interface NodeAutoscalerResult {
  /** Nodes added to pools' desired sizes. */
  added: number;
  /** Nodes given back (drained, then their machines terminated). */
  removed: number;
  unneeded: number;
}

/**
 * One pass of a cluster's node autoscaler, in one transaction of its tenant with its pools locked:
 * grows pools for pods no node fits (planScaleUp), or, when nothing is pending, gives back nodes
 * unneeded for long enough (planScaleDown) by draining them (PodDisruptionBudgets hold them as
 * for any drain) and lowering their pool's desired size in the same transaction, so the machine
 * controller neither replaces them nor retires another. Every decision is an event with its
 * reason (the cluster autoscaler's: TriggeredScaleUp, NotTriggerScaleUp, ScaledUpGroup,
 * ScaleDown, ScaledDownGroup). Level-triggered and idempotent: a pass reads all it decides from.
 */
export async function autoscaleNodes(
  deps: Deps,
  ref: { tenantId: string; clusterId: string },
): Promise<NodeAutoscalerResult> {
  const result: NodeAutoscalerResult = { added: 0, removed: 0, unneeded: 0 };
  let grew = false;
  let drains = false;
  await withTenant(deps.db, ref.tenantId, async (tx) => {
    const [cluster] = await tx.select().from(clusters).where(eq(clusters.id, ref.clusterId));
    if (!cluster || !isOperational(cluster.status)) return;
    const w = await readWorld(deps, tx, cluster);
    result.added = await scaleUp(w);
    grew = result.added > 0;
    const down = await scaleDown(w, !grew && w.unschedulable.length === 0);
    result.removed = down.removed;
    result.unneeded = down.unneeded;
    drains = down.removed > 0;
  });
  if (grew) await deps.queues.enqueue("machines.reconcile", ref);
  if (drains) await deps.queues.enqueue("cluster.reconcile", ref);
  return result;
}

async function scaleUp(w: AutoscalerWorld): Promise<number> {
  if (w.unschedulable.length === 0) return 0;
  const { ctx } = w;
  const plan = planScaleUp({
    snapshot: w.snapshot,
    pending: w.unschedulable.map((x) => w.asPending(x.id)).filter((x) => x !== undefined),
    groups: w.groups,
    expander: ctx.cluster.autoscalerProfile.expander,
    scoringStrategy: ctx.cluster.scheduling.scoringStrategy,
  });
  let added = 0;
  const podEvent = (
    podId: string,
    reason: string,
    message: string,
    type: "Normal" | "Warning" = "Normal",
  ) => {
    const pod = w.podById.get(podId);
    return pod
      ? loopEvent(ctx, { kind: "Pod", name: `${pod.namespace}/${pod.name}`, reason, message, type })
      : Promise.resolve();
  };
  for (const s of plan.scaleUps) {
    const pool = w.pools.find((p) => p.id === s.poolId);
    if (!pool) continue;
    await ctx.tx
      .update(nodePools)
      .set({ desiredSize: s.to, updatedAt: ctx.now })
      .where(eq(nodePools.id, pool.id));
    added += s.to - s.from;
    const group = `${pool.name} ${s.from}->${s.to} (max: ${pool.maxSize})`;
    await loopEvent(ctx, {
      kind: "NodePool",
      name: pool.name,
      reason: "ScaledUpGroup",
      message: `Scale-up: setting group ${pool.name} size to ${s.to} instead of ${s.from} (max: ${pool.maxSize}) for ${s.podIds.length} pending pod(s); waste ${s.waste.toFixed(3)} (${ctx.cluster.autoscalerProfile.expander})`,
    });
    for (const id of s.podIds) await podEvent(id, "TriggeredScaleUp", `pod triggered scale-up: [{${group}}]`);
  }
  for (const n of plan.notTriggered)
    await podEvent(n.podId, "NotTriggerScaleUp", `pod didn't trigger scale-up: ${n.reason}`, "Warning");
  return added;
}

async function scaleDown(w: AutoscalerWorld, calm: boolean): Promise<{ removed: number; unneeded: number }> {
  const { ctx } = w;
  const profile = ctx.cluster.autoscalerProfile;
  if (w.candidates.length === 0) return { removed: 0, unneeded: 0 };
  const sinceAdd = w.lastScaleUp ? ctx.now.getTime() - w.lastScaleUp.getTime() : Number.POSITIVE_INFINITY;
  const plan = planScaleDown({
    snapshot: w.snapshot,
    candidates: w.candidates,
    asPending: w.asPending,
    blockers: w.blockers,
    pools: new Map(w.pools.map((p) => [p.id, { name: p.name, desired: p.desiredSize, min: p.minSize }])),
    threshold: profile.scaleDownUtilizationThreshold,
    unneededMs: profile.scaleDownUnneededTimeSeconds * 1000,
    now: ctx.now,
    mayRemove: calm && sinceAdd >= profile.scaleDownDelayAfterAddSeconds * 1000,
    scoringStrategy: ctx.cluster.scheduling.scoringStrategy,
  });
  // Unneeded since the first pass that found it so; needed again forgets it.
  const fresh = w.candidates.filter((c) => c.unneededSince === null && plan.unneeded.includes(c.nodeId));
  if (fresh.length > 0)
    await ctx.tx
      .update(nodes)
      .set({ unneededSince: ctx.now })
      .where(
        and(
          inArray(
            nodes.id,
            fresh.map((c) => c.nodeId),
          ),
          isNull(nodes.unneededSince),
        ),
      );
  const again = plan.needed.filter((n) => w.candidates.some((c) => c.nodeId === n.nodeId && c.unneededSince));
  if (again.length > 0)
    await ctx.tx
      .update(nodes)
      .set({ unneededSince: null })
      .where(
        inArray(
          nodes.id,
          again.map((n) => n.nodeId),
        ),
      );

  let removed = 0;
  for (const r of plan.remove) {
    const node = ctx.nodeById.get(r.nodeId);
    const machine = w.machines.find((m) => m.nodeId === r.nodeId && m.status === "running");
    const pool = w.pools.find((p) => p.id === r.poolId);
    if (!node || !machine || !pool) continue;
    const [row] = await ctx.tx.select().from(machines).where(eq(machines.id, machine.id)).for("update");
    if (row?.status !== "running") continue;
    const [sized] = await ctx.tx
      .select({ desired: nodePools.desiredSize })
      .from(nodePools)
      .where(eq(nodePools.id, pool.id));
    const from = sized?.desired ?? pool.desiredSize;
    if (from <= pool.minSize) continue;
    await ctx.tx
      .update(nodePools)
      .set({ desiredSize: from - 1, updatedAt: ctx.now })
      .where(eq(nodePools.id, pool.id));
    const why = `unneeded for ${profile.scaleDownUnneededTimeSeconds}s (its pods fit elsewhere)`;
    await retireIn(ctx.tx, row, `node autoscaler: ${why}`, true, ctx.now);
    await loopEvent(ctx, {
      kind: "Node",
      name: node.name,
      reason: "ScaleDown",
      message: `node removed by the node autoscaler: ${why}; draining ${r.pods} pod(s)`,
    });
    await loopEvent(ctx, {
      kind: "NodePool",
      name: pool.name,
      reason: "ScaledDownGroup",
      message: `Scale-down: setting group ${pool.name} size to ${from - 1} instead of ${from} (min: ${pool.minSize}); removing ${node.name}`,
    });
    removed++;
  }
  return { removed, unneeded: plan.unneeded.length };
}
