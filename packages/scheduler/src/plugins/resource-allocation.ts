import { SchedulerInputError } from "../errors";
import type { NodeInfo, ScorePlugin } from "../framework";
import { NON_ZERO_DEFAULTS } from "../framework";
import { intDiv, isCount, ratio } from "../int";
import type { PendingPod } from "../types";

/** A resource the strategy scores: `cpu`, `memory`, or an extended resource's name. */
export interface ScoredResource {
  name: string;
  /** 1..100. */
  weight: number;
}

/** One point of RequestedToCapacityRatio's shape: at this utilization (0..100), this score (0..10). */
export interface UtilizationShapePoint {
  utilization: number;
  score: number;
}

/**
 * The cluster's scoring strategy, kube's NodeResourcesFit `scoringStrategy`:
 * - `LeastAllocated` (default): prefer the emptiest node, spreading load;
 * - `MostAllocated`: prefer the fullest node that fits, bin-packing onto fewer nodes;
 * - `RequestedToCapacityRatio`: score utilization through `shape`, a piecewise linear function
 *   (points `{ utilization: 0, score: 0 }, { utilization: 100, score: 10 }` bin-pack; the reverse
 *   spreads).
 * Each resource's score is weighted by `resources` (default cpu 1, memory 1). An extended
 * resource counts only for pods that request it and on nodes that advertise it, as in kube; a
 * node without cpu or memory scores 0 for it.
 */
export interface ScoringStrategy {
  type: "LeastAllocated" | "MostAllocated" | "RequestedToCapacityRatio";
  resources?: ScoredResource[];
  requestedToCapacityRatio?: { shape: UtilizationShapePoint[] };
}

const DEFAULT_RESOURCES: readonly ScoredResource[] = [
  { name: "cpu", weight: 1 },
  { name: "memory", weight: 1 },
];

type ResourceScore = (requested: number, allocatable: number) => number;

/** kube's leastRequestedScore: ⌊100 · (allocatable − requested) / allocatable⌋, 0 when over. */
const least: ResourceScore = (requested, allocatable) => ratio(allocatable - requested, allocatable, 100);
/** kube's mostRequestedScore: ⌊100 · requested / allocatable⌋, 100 when over. */
const most: ResourceScore = (requested, allocatable) => ratio(requested, allocatable, 100);

/** kube's broken-linear function over the shape, scores scaled from 0..10 to 0..100. */
function shaped(points: readonly UtilizationShapePoint[]): ResourceScore {
  const shape = points.map((p) => ({ utilization: p.utilization, score: p.score * 10 }));
  const last = shape[shape.length - 1] as UtilizationShapePoint;
  const at = (utilization: number): number => {
    for (let i = 0; i < shape.length; i++) {
      const p = shape[i] as UtilizationShapePoint;
      if (utilization > p.utilization) continue;
      if (i === 0) return p.score;
      const q = shape[i - 1] as UtilizationShapePoint;
      const rise = (p.score - q.score) * (utilization - q.utilization);
      const run = p.utilization - q.utilization;
      // Go's integer division truncates towards zero, for falling shapes too.
      return q.score + Math.sign(rise) * intDiv(Math.abs(rise), run);
    }
    return last.score;
  };
  return (requested, allocatable) =>
    at(allocatable <= 0 || requested > allocatable ? 100 : ratio(requested, allocatable, 100));
}

function check(strategy: ScoringStrategy): void {
  const fail = (what: string) => {
    throw new SchedulerInputError(`scoringStrategy: ${what}`);
  };
  if (!["LeastAllocated", "MostAllocated", "RequestedToCapacityRatio"].includes(strategy.type)) {
    fail(
      `type must be LeastAllocated, MostAllocated or RequestedToCapacityRatio, got ${String(strategy.type)}`,
    );
  }
  for (const r of strategy.resources ?? []) {
    if (typeof r.name !== "string" || r.name === "") fail("every resource needs a name");
    if (!isCount(r.weight) || r.weight < 1 || r.weight > 100)
      fail(`weight of ${r.name} must be an integer 1..100`);
  }
  if (strategy.type !== "RequestedToCapacityRatio") return;
  const shape = strategy.requestedToCapacityRatio?.shape ?? [];
  if (shape.length === 0) fail("RequestedToCapacityRatio needs a shape");
  shape.forEach((p, i) => {
    if (!isCount(p.utilization) || p.utilization > 100) fail("shape utilization must be an integer 0..100");
    if (!isCount(p.score) || p.score > 10) fail("shape score must be an integer 0..10");
    if (i > 0 && p.utilization <= (shape[i - 1] as UtilizationShapePoint).utilization) {
      fail("shape utilizations must increase");
    }
  });
}

/** Requested (with this pod, zero requests counted as kube's non-zero defaults) and allocatable. */
function amounts(info: NodeInfo, pod: PendingPod, name: string): [number, number] {
  const capacity = info.node.capacity;
  if (name === "cpu")
    return [info.nonZeroCpu + (pod.requests.cpuMillis || NON_ZERO_DEFAULTS.cpuMillis), capacity.cpuMillis];
  if (name === "memory") {
    return [
      info.nonZeroMemory + (pod.requests.memoryBytes || NON_ZERO_DEFAULTS.memoryBytes),
      capacity.memoryBytes,
    ];
  }
  const own = pod.requests.extended?.[name] ?? 0;
  return [(info.requestedExtended.get(name) ?? 0) + own, capacity.extended?.[name] ?? 0];
}

/**
 * The NodeResourcesFit score under `strategy`: per resource an integer 0..100, averaged with the
 * resources' weights (integer division). Throws `SchedulerInputError` for a malformed strategy.
 */
export function resourceAllocation(strategy: ScoringStrategy): ScorePlugin {
  check(strategy);
  const resources = strategy.resources ?? DEFAULT_RESOURCES;
  const ratioShape = strategy.type === "RequestedToCapacityRatio";
  const score =
    strategy.type === "LeastAllocated"
      ? least
      : strategy.type === "MostAllocated"
        ? most
        : shaped(strategy.requestedToCapacityRatio?.shape ?? []);
  return {
    name: strategy.type,
    weight: 1,
    prepare(pod) {
      // Extended resources the pod does not request are left out, as kube does.
      const scored = resources.filter(
        (r) => r.name === "cpu" || r.name === "memory" || (pod.requests.extended?.[r.name] ?? 0) > 0,
      );
      return (info) => {
        let sum = 0;
        let weights = 0;
        for (const { name, weight } of scored) {
          const [requested, allocatable] = amounts(info, pod, name);
          // A node without cpu or memory scores 0 for it; one without an extended resource is
          // left out for it (kube fills extended entries only when the node has some).
          if (allocatable <= 0 && name !== "cpu" && name !== "memory") continue;
          const s = score(requested, allocatable);
          // kube's RequestedToCapacityRatio leaves out resources that score 0.
          if (ratioShape && s <= 0) continue;
          sum += s * weight;
          weights += weight;
        }
        if (weights === 0) return 0;
        // kube rounds RequestedToCapacityRatio's average to nearest and truncates the others'.
        return ratioShape ? intDiv(2 * sum + weights, 2 * weights) : intDiv(sum, weights);
      };
    },
  };
}
