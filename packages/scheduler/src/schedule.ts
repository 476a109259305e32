import { ClusterState, type Nomination } from "./cluster-state";
import { SchedulerInputError } from "./errors";
import { NodeFinder } from "./find-nodes";
import type { FilterPlugin, NodeInfo, ScorePlugin } from "./framework";
import { pickBest, type Scratch, scratchFor, type WeightedScorer } from "./pick-best";
import { builtInFilters, defaultScorers, leastAllocated } from "./plugins/index";
import { resourceAllocation, type ScoringStrategy } from "./plugins/resource-allocation";
import { awaitedVictims, preempt } from "./preemption";
import { schedulingOrder } from "./queue";
import { feasibleNodesToFind } from "./sampling";
import { explain } from "./summary";
import type { DisruptionBudget, PendingPod, Plan, ScheduleRequest, Snapshot, Unschedulable } from "./types";
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
  /**
   * true: a pod that fits nowhere may preempt lower-priority pods (kube's DefaultPreemption; the
   * plan lists them in `preemptions`). Off unless asked for, so a caller that does not act on
   * `preemptions` yet keeps getting every such pod back as unschedulable.
   */
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
  const run: Run = {
    cluster,
    finder,
    filters,
    scorers,
    scratch,
    options,
    budgets,
    budgetsLeft,
    evicted,
    preemptionFailed: new Set(),
    plan,
  };
  const order = schedulingOrder(runnable);
  const held = holdNominatedNodes(order, cluster, () => run.preemptionFailed.clear());
  for (const pod of order) {
    if (plan.placements.length >= maxPlacements) {
      plan.deferred.push(pod.id);
      continue;
    }
    held.beginPriority(pod.priority);
    held.releaseFor(pod);
    scheduleOne(pod, run, held);
  }
  return plan;
}

/** What scheduling one pod needs besides the pod. */
interface Run {
  readonly cluster: ClusterState;
  readonly finder: NodeFinder;
  readonly filters: readonly FilterPlugin[];
  readonly scorers: readonly WeightedScorer[];
  readonly scratch: Scratch;
  readonly options: ScheduleOptions;
  readonly budgets: readonly DisruptionBudget[];
  readonly budgetsLeft: number[];
  readonly evicted: Set<string>;
  /** Shape and priority of pods whose preemption found no node (see scheduleOne). */
  readonly preemptionFailed: Set<string>;
  readonly plan: Plan;
}

/** One pod: its nominated node, else filter and score, else preempt, else unschedulable. */
function scheduleOne(pod: PendingPod, run: Run, held: NominatedNodes): void {
  const { cluster, finder, plan } = run;
  // kube tries a pod's nominated node first, and takes it when the pod fits there.
  const nominated =
    pod.nominatedNodeName === undefined ? undefined : cluster.nodeNamed(pod.nominatedNodeName);
  if (nominated !== undefined && finder.fitsOn(pod, nominated)) {
    plan.placements.push({
      podId: pod.id,
      nodeId: cluster.nodeId(nominated),
      hostPorts: cluster.place(pod, nominated),
    });
    return;
  }
  const found = finder.find(pod);
  if (typeof found === "number") {
    const best =
      found === 1
        ? (finder.feasible[0] as number)
        : pickBest(pod, cluster, run.scorers, finder.feasible, found, run.scratch);
    plan.placements.push({
      podId: pod.id,
      nodeId: cluster.nodeId(best),
      hostPorts: cluster.place(pod, best),
    });
    return;
  }
  const why = explain(cluster.nodes.length, found);
  const waiting = awaitedVictims(pod, cluster);
  if (waiting !== undefined) {
    // Its victims are on their way out: it keeps the node, as kube keeps the nomination.
    held.hold(pod, waiting);
    plan.unschedulable.push({
      podId: pod.id,
      ...why,
      nominatedNodeName: (cluster.nodes[waiting] as NodeInfo).node.name,
    });
    return;
  }
  // A shape and priority whose preemption found nothing finds nothing later in the plan either:
  // its filters promise verdicts that depend on each node's own state, and nodes only fill up
  // (placements, holds), victims only get fewer and budgets smaller. A hold given back breaks
  // that, and forgets them all (see holdNominatedNodes).
  const failedKey = finder.lastShape === null ? null : `${finder.lastShape}\u0002${pod.priority}`;
  const eviction =
    run.options.preemption !== true || (failedKey !== null && run.preemptionFailed.has(failedKey))
      ? null
      : preempt(pod, cluster, run.filters, run.budgets, run.budgetsLeft, run.evicted);
  if (eviction === null) {
    if (failedKey !== null && pod.preemptionPolicy !== "Never") run.preemptionFailed.add(failedKey);
    plan.unschedulable.push({ podId: pod.id, ...why });
    return;
  }
  const node = cluster.nodes[eviction.node] as NodeInfo;
  plan.preemptions.push({
    podId: pod.id,
    nominatedNodeName: node.node.name,
    nodeId: node.node.id,
    victims: eviction.victims.map((v) => v.id),
    reason: why.reason,
  });
  held.hold(pod, eviction.node);
}

interface NominatedNodes {
  /** Holds the nominated nodes of the pods of this priority, as the order reaches it. */
  beginPriority(priority: number): void;
  /** Gives back the pod's own hold before it is tried. */
  releaseFor(pod: PendingPod): void;
  /** Holds `index` for the pod from now on. */
  hold(pod: PendingPod, index: number): void;
}

/**
 * kube counts pods nominated to a node as already there when it filters a pod of lower or equal
 * priority. Pods go in priority order, so the pending pods nominated in an earlier plan are held
 * on their nodes as the order reaches their priority, and each gives its hold back just before
 * it is tried. A pod that preempts in this plan, or keeps waiting for its victims, holds its node
 * until the plan is done.
 */
function holdNominatedNodes(
  order: readonly PendingPod[],
  cluster: ClusterState,
  loosened: () => void,
): NominatedNodes {
  const byPriority = new Map<number, { pod: PendingPod; index: number }[]>();
  for (const pod of order) {
    const index = pod.nominatedNodeName === undefined ? undefined : cluster.nodeNamed(pod.nominatedNodeName);
    if (index === undefined) continue;
    const level = byPriority.get(pod.priority);
    if (level) level.push({ pod, index });
    else byPriority.set(pod.priority, [{ pod, index }]);
  }
  const holds = new Map<string, Nomination>();
  let current: number | undefined;
  return {
    beginPriority(priority) {
      if (priority === current) return;
      current = priority;
      for (const { pod, index } of byPriority.get(priority) ?? [])
        holds.set(pod.id, cluster.nominate(pod, index));
    },
    releaseFor(pod) {
      const hold = holds.get(pod.id);
      if (hold === undefined) return;
      cluster.release(hold);
      holds.delete(pod.id);
      loosened();
    },
    hold(pod, index) {
      holds.set(pod.id, cluster.nominate(pod, index));
    },
  };
}
