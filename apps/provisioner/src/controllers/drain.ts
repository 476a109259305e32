import { pods } from "@berth/db";
import { selectorMatches } from "@berth/kube";
import { inArray, sql } from "drizzle-orm";
import { type ClusterBudget, clusterBudgets } from "./budgets";
import { type LoopContext, loopEvent, type PodRow } from "./loop";
import { isTerminal } from "./pod-state";

const selects = (b: ClusterBudget, pod: PodRow): boolean =>
  b.tenantId === pod.tenantId &&
  b.namespace === pod.namespace &&
  b.selector !== undefined &&
  selectorMatches(b.selector, pod.labels);

/**
 * Whether evicting `pod` now keeps every budget that selects it, as kube's Eviction API decides: a
 * ready pod needs `disruptionsAllowed` > 0 in each; one that is not ready may go while its budget
 * still has the healthy pods it wants (IfHealthyBudget) or always (AlwaysAllow). A pod selected by
 * more than one budget is refused, as kube refuses it.
 */
export function evictionVerdict(
  pod: PodRow,
  budgets: readonly ClusterBudget[],
): { ok: true } | { ok: false; why: string } {
  const mine = budgets.filter((b) => selects(b, pod));
  if (mine.length > 1)
    return {
      ok: false,
      why: `it is selected by more than one PodDisruptionBudget (${mine.map((b) => b.name).join(", ")}), which eviction does not support`,
    };
  const [budget] = mine;
  if (!budget) return { ok: true };
  const allowed = pod.ready
    ? budget.disruptionsAllowed > 0
    : budget.unhealthyPodEvictionPolicy === "AlwaysAllow" || budget.currentHealthy >= budget.desiredHealthy;
  return allowed
    ? { ok: true }
    : {
        ok: false,
        why: `evicting it would violate PodDisruptionBudget ${budget.name} (needs ${budget.desiredHealthy} healthy, has ${budget.currentHealthy})`,
      };
}

/**
 * Drains the nodes being drained (by a user, or because their machine retires): evicts each pod
 * whose PodDisruptionBudget allows it now, spending the budget as it goes, so a budget at zero
 * holds the rest until replacements elsewhere are ready (a later pass, as `kubectl drain` retries).
 * Evicted pods stop gracefully on their node; their controllers replace them. Every eviction and
 * every pod held back is an event. Returns the pods as they are now and how many were evicted.
 */
export async function drainNodes(
  ctx: LoopContext,
  podRows: readonly PodRow[],
): Promise<{ remaining: PodRow[]; evicted: number }> {
  const draining = new Set(
    [...ctx.nodeById.values()].filter((n) => n.drainRequestedAt !== null).map((n) => n.id),
  );
  const candidates = podRows
    .filter(
      (p) => p.nodeId !== null && draining.has(p.nodeId) && p.deletionRequestedAt === null && !isTerminal(p),
    )
    .sort((a, b) => a.seq - b.seq);
  if (candidates.length === 0) return { remaining: [...podRows], evicted: 0 };
  const budgets = await clusterBudgets(ctx, podRows);
  const evicted: PodRow[] = [];
  for (const pod of candidates) {
    const verdict = evictionVerdict(pod, budgets);
    if (!verdict.ok) {
      await loopEvent(ctx, {
        kind: "Pod",
        name: `${pod.namespace}/${pod.name}`,
        reason: "EvictionBlocked",
        message: `not evicted from node ${ctx.nodeById.get(pod.nodeId ?? "")?.name ?? pod.nodeId} yet: ${verdict.why}`,
        type: "Warning",
      });
      continue;
    }
    evicted.push(pod);
    // The budget is spent at once: the next pod of this pass sees one disruption fewer allowed.
    if (pod.ready)
      for (const b of budgets)
        if (selects(b, pod)) {
          b.disruptionsAllowed -= 1;
          b.currentHealthy -= 1;
        }
    await loopEvent(ctx, {
      kind: "Pod",
      name: `${pod.namespace}/${pod.name}`,
      reason: "Evicted",
      message: `evicted: node ${ctx.nodeById.get(pod.nodeId ?? "")?.name ?? pod.nodeId} is being drained`,
    });
  }
  if (evicted.length === 0) return { remaining: [...podRows], evicted: 0 };
  const ids = evicted.map((p) => p.id);
  await ctx.tx
    .update(pods)
    .set({ deletionRequestedAt: ctx.now, ready: false, resourceVersion: sql`nextval('resource_versions')` })
    .where(inArray(pods.id, ids));
  const gone = new Set(ids);
  return {
    remaining: podRows.map((p) =>
      gone.has(p.id) ? { ...p, deletionRequestedAt: ctx.now, ready: false } : p,
    ),
    evicted: evicted.length,
  };
}
