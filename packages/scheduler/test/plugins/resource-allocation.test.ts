import { describe, expect, it } from "vitest";
import { SchedulerInputError, schedule } from "../../src/index";
import { resourceAllocation, type ScoringStrategy } from "../../src/plugins/resource-allocation";
import { bound, GiB, node, pod, scores } from "../fixtures";

const capacity = { cpuMillis: 4000, memoryBytes: 8 * GiB, pods: 110 };
const used = [bound("b", "n", { requests: { cpuMillis: 1000, memoryBytes: 2 * GiB } })];
const p = pod("p", { requests: { cpuMillis: 1000, memoryBytes: 2 * GiB } });
const score = (strategy: ScoringStrategy, q = p, n = node("n", { capacity }), pods = used) =>
  scores(resourceAllocation(strategy), q, [n], pods)?.[0];

const packing = [
  { utilization: 0, score: 0 },
  { utilization: 100, score: 10 },
];

describe("scoring strategies", () => {
  it("LeastAllocated: the share left free (half used → 50)", () => {
    expect(score({ type: "LeastAllocated" })).toBe(50);
  });

  it("MostAllocated: the share in use (half used → 50; three quarters → 75), capped at 100", () => {
    expect(score({ type: "MostAllocated" })).toBe(50);
    const more = [...used, bound("c", "n", { requests: { cpuMillis: 1000, memoryBytes: 2 * GiB } })];
    expect(score({ type: "MostAllocated" }, p, undefined, more)).toBe(75);
    const over = [bound("big", "n", { requests: { cpuMillis: 9000, memoryBytes: 16 * GiB } })];
    expect(score({ type: "MostAllocated" }, p, undefined, over)).toBe(100);
  });

  it("RequestedToCapacityRatio: the shape, linear between points, scores 0..10 scaled to 0..100", () => {
    expect(score({ type: "RequestedToCapacityRatio", requestedToCapacityRatio: { shape: packing } })).toBe(
      50,
    );
    const knee = [
      { utilization: 0, score: 10 },
      { utilization: 40, score: 2 },
      { utilization: 100, score: 0 },
    ];
    // 50 % used: 20 − 20 · 10 / 60 = 20 − 3 (truncated, as Go's integer division) = 17.
    expect(score({ type: "RequestedToCapacityRatio", requestedToCapacityRatio: { shape: knee } })).toBe(17);
  });

  it("weighs resources: memory 3× cpu", () => {
    const q = pod("q", { requests: { cpuMillis: 3000, memoryBytes: 0 } });
    // cpu (1000 + 3000) / 4000 → 100; memory (2Gi + 200Mi) / 8Gi → 27; (100 + 3 · 27) / 4 = 45.
    const strategy: ScoringStrategy = {
      type: "MostAllocated",
      resources: [
        { name: "cpu", weight: 1 },
        { name: "memory", weight: 3 },
      ],
    };
    expect(score(strategy, q)).toBe(45);
  });

  it("scores an extended resource only for pods that request it, on nodes that have it", () => {
    const gpuNode = node("n", { capacity: { ...capacity, extended: { "berth.dev/gpu": 4 } } });
    const strategy: ScoringStrategy = {
      type: "MostAllocated",
      resources: [{ name: "berth.dev/gpu", weight: 1 }],
    };
    const wantsTwo = pod("g", {
      requests: { cpuMillis: 0, memoryBytes: 0, extended: { "berth.dev/gpu": 2 } },
    });
    expect(score(strategy, wantsTwo, gpuNode, [])).toBe(50);
    expect(score(strategy, pod("plain"), gpuNode, [])).toBe(0);
    expect(score(strategy, wantsTwo, node("n", { capacity }), [])).toBe(0);
  });

  it.each([
    { name: "an unknown type", strategy: { type: "Random" } },
    { name: "a weight of 0", strategy: { type: "MostAllocated", resources: [{ name: "cpu", weight: 0 }] } },
    { name: "no shape", strategy: { type: "RequestedToCapacityRatio" } },
    {
      name: "a shape going backwards",
      strategy: {
        type: "RequestedToCapacityRatio",
        requestedToCapacityRatio: {
          shape: [
            { utilization: 50, score: 1 },
            { utilization: 50, score: 2 },
          ],
        },
      },
    },
    {
      name: "a score above 10",
      strategy: {
        type: "RequestedToCapacityRatio",
        requestedToCapacityRatio: { shape: [{ utilization: 0, score: 11 }] },
      },
    },
  ])("rejects $name", ({ strategy }) => {
    expect(() => resourceAllocation(strategy as ScoringStrategy)).toThrow(SchedulerInputError);
  });

  it("is a cluster setting: MostAllocated packs what LeastAllocated spreads", () => {
    const nodes = [node("a"), node("b")];
    const pending = [1, 2, 3].map((i) => pod(`p${i}`, { createdSeq: i }));
    const off = { SpreadOwner: 0, BalancedAllocation: 0 };
    const spread = schedule({ nodes, pods: [] }, { pending }, { weights: off });
    const packed = schedule(
      { nodes, pods: [] },
      { pending },
      { weights: off, scoringStrategy: { type: "MostAllocated" } },
    );
    expect(new Set(spread.placements.map((x) => x.nodeId)).size).toBe(2);
    expect(new Set(packed.placements.map((x) => x.nodeId))).toEqual(new Set(["a"]));
  });
});
