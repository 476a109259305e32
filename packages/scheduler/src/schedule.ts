import { ClusterState } from "./cluster-state";
import { SchedulerInputError } from "./errors";
import { NodeFinder } from "./find-nodes";
import type { FilterPlugin, NodeInfo, ScorePlugin } from "./framework";
import { pickBest, scratchFor, type WeightedScorer } from "./pick-best";
import { builtInFilters, defaultScorers, leastAllocated } from "./plugins/index";
import { resourceAllocation, type ScoringStrategy } from "./plugins/resource-allocation";
import { preempt } from "./preemption";
import { schedulingOrder } from "./queue";
import { feasibleNodesToFind } from "./sampling";
import { explain } from "./summary";
import type { PendingPod, Plan, ScheduleRequest, Snapshot, Unschedulable } from "./types";
import { assertUniquePendingIds, assertValidSnapshot, pendingPodProblem } from "./validate";

export interface ScheduleOptions {
  /** Filters run besides the built-in ones, which always run: they are what keeps a plan safe. */
  extraFilters?: readonly FilterPlugin[];
  /** Replaces the default scorers (LeastAllocated, BalancedAllocation, SpreadOwner, TaintPreferNoSchedule). */
  scorers?: readonly ScorePlugin[];
  /** Weight by scorer name, overriding the plugin's own; 0 switches a scorer off. Non-negative integers. */
  weights?: Readonly<Record<string, number>>;
  /** See `feasibleNodesToFind`: undefined/0 adaptive as in kube-scheduler, 100 scores every feasible node. */
  percentageOfNodesToScore?: number;
  /**
   * The cluster's scoring strategy (kube's NodeResourcesFit scoringStrategy): it replaces the
   * LeastAllocated scorer. Default LeastAllocated over cpu and memory.
   */
  scoringStrategy?: ScoringStrategy;
  /** false: a pod that fits nowhere is only reported, never preempts (default true, as in kube). */
  preemption?: boolean;
}

function weighted(options: ScheduleOptions): WeightedScorer[] {
  const out: WeightedScorer[] = [];
  const strategy = options.scoringStrategy ? resourceAllocation(options.scoringStrategy) : null;
  const plugins = (options.scorers ?? defaultScorers).map((p) =>
    strategy !== null && p === leastAllocated ? strategy : p,
  );
  for (const plugin of plugins) {
    const weight = options.weights?.[plugin.name] ?? plugin.weight;
    if (!Number.isSafeInteger(weight) || weight < 0) {
      throw new SchedulerInputError(
        `weight of scorer ${plugin.name} must be a non-negative integer, got ${weight}`,
      );
    }
    if (weight > 0) out.push({ plugin, weight });
  }
  return out;
}

function byPodId(a: Unschedulable, b: Unschedulable): number {
  return a.podId < b.podId ? -1 : a.podId > b.podId ? 1 : 0;
}

/**
 * Places pending pods onto nodes: pure, deterministic, no I/O. Pods are tried in
 * `schedulingOrder`; for each, the filters find the feasible nodes, the scorers pick the best,
 * and the placement is applied to an in-memory copy of the snapshot before the next pod is tried,
 * so the plan never over-commits a node. Pods no node can take come back with a
 * kube-scheduler-style reason; pods past `maxPlacements` come back deferred.
 */
export function schedule(snapshot: Snapshot, request: ScheduleRequest, options: ScheduleOptions = {}): Plan {
  assertValidSnapshot(snapshot);
  assertUniquePendingIds(request.pending);
  const scorers = weighted(options);
  const cluster = new ClusterState(snapshot);
  const nodeCount = cluster.nodes.length;
  const filters = [...builtInFilters, ...(options.extraFilters ?? [])];
  const finder = new NodeFinder(
    filters,
    cluster,
    feasibleNodesToFind(nodeCount, options.percentageOfNodesToScore),
  );
  const budgets = snapshot.disruptionBudgets ?? [];
  const budgetsLeft = budgets.map((b) => b.disruptionsAllowed);
  const evicted = new Set<string>();
  const maxPlacements = request.maxPlacements ?? Number.POSITIVE_INFINITY;
  const plan: Plan = { placements: [], preemptions: [], unschedulable: [], deferred: [] };

  const runnable: PendingPod[] = [];
  const invalid: Unschedulable[] = [];
  for (const pod of request.pending) {
    const problem = pendingPodProblem(pod);
    if (problem === null) runnable.push(pod);
    else invalid.push({ podId: pod.id, reason: `invalid pod spec: ${problem}`, counts: {} });
  }
  plan.unschedulable.push(...invalid.sort(byPodId));

  const scratch = scratchFor(nodeCount);
  for (const pod of schedulingOrder(runnable)) {
    if (plan.placements.length >= maxPlacements) {
      plan.deferred.push(pod.id);
      continue;
    }
    // kube tries a pod's nominated node first, and takes it when the pod fits there.
    const nominated =
      pod.nominatedNodeName === undefined ? undefined : cluster.nodeNamed(pod.nominatedNodeName);
    if (nominated !== undefined && finder.fitsOn(pod, nominated)) {
      plan.placements.push({
        podId: pod.id,
        nodeId: cluster.nodeId(nominated),
        hostPorts: cluster.place(pod, nominated),
      });
      continue;
    }
    const found = finder.find(pod);
    if (typeof found !== "number") {
      const why = explain(nodeCount, found);
      const eviction =
        options.preemption === false ? null : preempt(pod, cluster, filters, budgets, budgetsLeft, evicted);
      if (eviction === null) {
        plan.unschedulable.push({ podId: pod.id, ...why });
        continue;
      }
      const node = cluster.nodes[eviction.node] as NodeInfo;
      plan.preemptions.push({
        podId: pod.id,
        nominatedNodeName: node.node.name,
        nodeId: node.node.id,
        victims: eviction.victims.map((v) => v.id),
        reason: why.reason,
      });
      cluster.nominate(pod, eviction.node);
      continue;
    }
    const best =
      found === 1
        ? (finder.feasible[0] as number)
        : pickBest(pod, cluster, scorers, finder.feasible, found, scratch);
    plan.placements.push({
      podId: pod.id,
      nodeId: cluster.nodeId(best),
      hostPorts: cluster.place(pod, best),
    });
  }
  return plan;
}
