import { SchedulerInputError } from "../errors";
import type { ScorePlugin } from "../framework";
import { NON_ZERO_DEFAULTS } from "../framework";
import { intDiv, isCount, ratio } from "../int";

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
    podKey: (pod) => {
      const { cpuMillis, memoryBytes, extended } = pod.requests;
      return extended === undefined
        ? `${cpuMillis}/${memoryBytes}`
        : `${cpuMillis}/${memoryBytes}/${JSON.stringify(extended)}`;
    },
    prepare(pod) {
      const cpu = pod.requests.cpuMillis || NON_ZERO_DEFAULTS.cpuMillis;
      const memory = pod.requests.memoryBytes || NON_ZERO_DEFAULTS.memoryBytes;
      // Extended resources the pod does not request are left out, as kube does.
      const extended = resources.filter(
        (r) => r.name !== "cpu" && r.name !== "memory" && (pod.requests.extended?.[r.name] ?? 0) > 0,
      );
      const own = extended.map((r) => pod.requests.extended?.[r.name] ?? 0);
      const cpuWeight = resources.find((r) => r.name === "cpu")?.weight ?? 0;
      const memoryWeight = resources.find((r) => r.name === "memory")?.weight ?? 0;
      if (extended.length === 0 && !ratioShape && cpuWeight + memoryWeight > 0) {
        // The common case, kept free of closures over mutable state: it runs for every node scored.
        const weights = cpuWeight + memoryWeight;
        return (info) => {
          const c = cpuWeight === 0 ? 0 : score(info.nonZeroCpu + cpu, info.allocatableCpu);
          const m = memoryWeight === 0 ? 0 : score(info.nonZeroMemory + memory, info.allocatableMemory);
          return intDiv(c * cpuWeight + m * memoryWeight, weights);
        };
      }
      // One resource's share of the node score; a node without cpu or memory scores 0 for it, one
      // without an extended resource is left out for it (kube fills extended entries only when
      // the node has some); RequestedToCapacityRatio leaves out resources that score 0.
      let sum = 0;
      let weights = 0;
      const add = (requested: number, allocatable: number, weight: number, optional: boolean) => {
        if (weight === 0 || (optional && allocatable <= 0)) return;
        const s = score(requested, allocatable);
        if (ratioShape && s <= 0) return;
        sum += s * weight;
        weights += weight;
      };
      return (info) => {
        sum = 0;
        weights = 0;
        const capacity = info.node.capacity;
        add(info.nonZeroCpu + cpu, capacity.cpuMillis, cpuWeight, false);
        add(info.nonZeroMemory + memory, capacity.memoryBytes, memoryWeight, false);
        for (let i = 0; i < extended.length; i++) {
          const { name, weight } = extended[i] as ScoredResource;
          const allocatable = capacity.extended?.[name] ?? 0;
          add((info.requestedExtended.get(name) ?? 0) + (own[i] as number), allocatable, weight, true);
        }
        if (weights === 0) return 0;
        // kube rounds RequestedToCapacityRatio's average to nearest and truncates the others'.
        return ratioShape ? intDiv(2 * sum + weights, 2 * weights) : intDiv(sum, weights);
      };
    },
  };
}
