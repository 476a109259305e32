import type { ClusterState, PodRecord } from "./cluster-state";
import { budgetCovers } from "./disruption";
import type { FilterPlugin, NodeFilter, NodeInfo, Rejection } from "./framework";
import { intDiv } from "./int";
import { AFFINITY_MISMATCH } from "./plugins/inter-pod-affinity";
import { SPREAD_MISSING_LABEL } from "./plugins/pod-topology-spread";
import type { DisruptionBudget, PendingPod } from "./types";

/** Rejections no eviction can cure besides those of static filters (kube's UnschedulableAndUnresolvable). */
const UNRESOLVABLE = new Set([AFFINITY_MISMATCH, SPREAD_MISSING_LABEL]);

/** kube's minCandidateNodesPercentage and minCandidateNodesAbsolute: stop looking after this many. */
function candidatesToFind(nodeCount: number): number {
  return Math.max(100, intDiv(nodeCount * 10, 100));
}

export interface Eviction {
  readonly node: number;
  /** Most important first. */
  readonly victims: readonly PodRecord[];
}

interface Candidate extends Eviction {
  readonly highest: number;
  readonly prioritySum: number;
  /** Earliest start among the victims of the highest priority: later is better. */
  readonly earliestStart: number;
}

/**
 * kube's PodEligibleToPreemptOthers, its second half: a pod nominated to a node where
 * lower-priority pods are still terminating waits for them rather than preempting again. The
 * node's index when so, else undefined.
 */
export function awaitedVictims(pod: PendingPod, cluster: ClusterState): number | undefined {
  if (pod.nominatedNodeName === undefined) return undefined;
  const nominated = cluster.nodeNamed(pod.nominatedNodeName);
  if (nominated === undefined) return undefined;
  const terminating = cluster.boundPodsOn(nominated).some((p) => p.terminating && p.priority < pod.priority);
  return terminating ? nominated : undefined;
}

/** kube's MoreImportantPod: higher priority, then started earlier; then id, so the order is total. */
function moreImportantFirst(a: PodRecord, b: PodRecord): number {
  if (a.priority !== b.priority) return b.priority - a.priority;
  if (a.startedSeq !== b.startedSeq) return a.startedSeq - b.startedSeq;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

function isRejected(rejection: Rejection | null, unresolvable: boolean): boolean {
  if (rejection === null) return false;
  if (!unresolvable) return true;
  return typeof rejection === "string"
    ? UNRESOLVABLE.has(rejection)
    : rejection.some((r) => UNRESOLVABLE.has(r));
}

/**
 * kube's DefaultPreemption, pure. For a pod that fits nowhere, finds the node where evicting
 * lower-priority bound pods makes it fit, and the fewest such pods:
 *
 * 1. Only pods with preemptionPolicy PreemptLowerPriority preempt (and, the caller checks with
 *    `awaitedVictims`, not while pods are still terminating on the node they were nominated for).
 * 2. Nodes a static filter (ready, cordoned, selectors, node affinity, taints) rejects, or that
 *    fail pod affinity or lack a spread topology key, are skipped: evicting cannot help there.
 * 3. On each other node, every lower-priority pod (not terminating, not already a victim in this
 *    plan) is taken away; if
 *    the pod still does not fit, the node is skipped. Otherwise the pods are put back one by one,
 *    most important first, those whose eviction would take a PodDisruptionBudget below zero ahead
 *    of the rest, and each stays if the pod still fits (kube's reprieve).
 * 4. Unlike kube, which only prefers fewer violations, a node whose victims would still take a
 *    budget below zero is not a candidate: a plan never violates a PodDisruptionBudget.
 * 5. Among the candidates (kube stops after max(100, 10 % of the nodes), in canonical order):
 *    the lowest highest victim priority, then the lowest sum of priorities (each offset by 2³¹,
 *    so fewer victims win first), then the fewest victims, then the latest earliest start among
 *    the highest-priority victims, then the first node.
 *
 * `remaining` holds the disruptions each budget still allows in this plan, and is charged for
 * the chosen victims; `evicted` collects them (they are terminating from now on, so never chosen
 * twice). The victims keep their resources in the cluster until they are gone; the cluster is
 * left as it was found.
 */
export function preempt(
  pod: PendingPod,
  cluster: ClusterState,
  filters: readonly FilterPlugin[],
  budgets: readonly DisruptionBudget[],
  remaining: number[],
  evicted: Set<string>,
): Eviction | null {
  if (pod.preemptionPolicy === "Never") return null;
  const statics = filters.filter((f) => f.static === true);
  const dynamics = filters.filter((f) => f.static !== true);
  const prepare = (set: readonly FilterPlugin[]): NodeFilter[] => {
    const out: NodeFilter[] = [];
    for (const f of set) {
      const check = f.prepare(pod, cluster);
      if (check !== null) out.push(check);
    }
    return out;
  };
  const first = (checks: readonly NodeFilter[], info: NodeInfo): Rejection | null => {
    for (const check of checks) {
      const r = check(info);
      if (r !== null) return r;
    }
    return null;
  };
  // The dynamic filters look at the cluster as it is when prepared: prepare them again after
  // every change.
  const fits = (info: NodeInfo): boolean => first(prepare(dynamics), info) === null;

  const staticChecks = prepare(statics);
  const current = prepare(dynamics);
  const wanted = candidatesToFind(cluster.nodes.length);
  const candidates: Candidate[] = [];
  for (const info of cluster.nodes) {
    if (candidates.length >= wanted) break;
    const lower = cluster
      .boundPodsOn(info.index)
      .filter((p) => p.priority < pod.priority && !p.terminating && !evicted.has(p.id));
    if (lower.length === 0) continue;
    if (first(staticChecks, info) !== null || isRejected(first(current, info), true)) continue;
    const victims = victimsOn(info, lower, cluster, fits, budgets, remaining);
    if (victims === null) continue;
    const highest = (victims[0] as PodRecord).priority;
    let earliestStart = Number.POSITIVE_INFINITY;
    for (const v of victims)
      if (v.priority === highest && v.startedSeq < earliestStart) earliestStart = v.startedSeq;
    candidates.push({
      node: info.index,
      victims,
      highest,
      prioritySum: victims.reduce((sum, v) => sum + v.priority + 2 ** 31, 0),
      earliestStart,
    });
  }
  let best: Candidate | undefined;
  for (const c of candidates) if (best === undefined || better(c, best)) best = c;
  if (best === undefined) return null;
  for (const victim of best.victims) {
    evicted.add(victim.id);
    budgets.forEach((budget, i) => {
      if (budgetCovers(budget, victim)) remaining[i] = (remaining[i] as number) - 1;
    });
  }
  return { node: best.node, victims: best.victims };
}

function better(a: Candidate, b: Candidate): boolean {
  if (a.highest !== b.highest) return a.highest < b.highest;
  if (a.prioritySum !== b.prioritySum) return a.prioritySum < b.prioritySum;
  if (a.victims.length !== b.victims.length) return a.victims.length < b.victims.length;
  if (a.earliestStart !== b.earliestStart) return a.earliestStart > b.earliestStart;
  return a.node < b.node;
}

/** kube's selectVictimsOnNode, with budgets kept whole; null when the node is no candidate. */
function victimsOn(
  info: NodeInfo,
  lower: readonly PodRecord[],
  cluster: ClusterState,
  fits: (info: NodeInfo) => boolean,
  budgets: readonly DisruptionBudget[],
  remaining: readonly number[],
): PodRecord[] | null {
  for (const p of lower) cluster.toggle(p, -1);
  if (!fits(info)) {
    for (const p of lower) cluster.toggle(p, 1);
    return null;
  }
  const ordered = [...lower].sort(moreImportantFirst);
  // kube's filterPodsWithPDBViolation: walking in importance order, a pod whose eviction takes
  // some budget below zero is "violating".
  const left = [...remaining];
  const violating: PodRecord[] = [];
  const other: PodRecord[] = [];
  for (const p of ordered) {
    let violates = false;
    budgets.forEach((budget, i) => {
      if (!budgetCovers(budget, p)) return;
      left[i] = (left[i] as number) - 1;
      if ((left[i] as number) < 0) violates = true;
    });
    (violates ? violating : other).push(p);
  }
  const victims: PodRecord[] = [];
  for (const p of [...violating, ...other]) {
    cluster.toggle(p, 1);
    if (!fits(info)) {
      cluster.toggle(p, -1);
      victims.push(p);
    }
  }
  for (const p of victims) cluster.toggle(p, 1);
  victims.sort(moreImportantFirst);
  const charged = [...remaining];
  for (const v of victims) {
    budgets.forEach((budget, i) => {
      if (budgetCovers(budget, v)) charged[i] = (charged[i] as number) - 1;
    });
  }
  return charged.some((n, i) => n < 0 && n < (remaining[i] as number)) ? null : victims;
}
