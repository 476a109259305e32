import { describe, expect, it } from "vitest";
import { SchedulerInputError } from "../../src/errors";
import {
  resourceAllocation,
  type ScoringStrategy,
  type UtilizationShapePoint,
} from "../../src/plugins/resource-allocation";
import { schedule } from "../../src/schedule";
import type { NodeState, Resources } from "../../src/types";
import { bound, GiB, node, pod, scores } from "../fixtures";

const GPU = "berth.dev/gpu";
const cpuOnly = (shape: UtilizationShapePoint[]): ScoringStrategy => ({
  type: "RequestedToCapacityRatio",
  resources: [{ name: "cpu", weight: 1 }],
  requestedToCapacityRatio: { shape },
});
const withCpu = (cpuMillis: number, overrides: Partial<NodeState> = {}) =>
  node("n", { capacity: { cpuMillis, memoryBytes: 8 * GiB, pods: 10 }, ...overrides });
const score = (
  strategy: ScoringStrategy,
  requests: Resources,
  n: NodeState,
  pods = [] as ReturnType<typeof bound>[],
) => scores(resourceAllocation(strategy), pod("p", { requests }), [n], pods)?.[0];

describe("RequestedToCapacityRatio's shape", () => {
  it.each([
    {
      name: "below the first point: the first point's score",
      shape: [
        [50, 5],
        [100, 10],
      ],
      cpu: 250,
      expected: 50,
    },
    {
      name: "past the last point: the last point's score",
      shape: [
        [0, 0],
        [50, 10],
      ],
      cpu: 750,
      expected: 100,
    },
    {
      name: "rising, truncated: 10 % of 0..30 → 100 is 33",
      shape: [
        [0, 0],
        [30, 10],
      ],
      cpu: 100,
      expected: 33,
    },
    {
      name: "on a middle point: its score",
      shape: [
        [0, 0],
        [40, 2],
        [100, 10],
      ],
      cpu: 400,
      expected: 20,
    },
    {
      name: "over-committed counts as 100 %",
      shape: [
        [0, 2],
        [100, 7],
      ],
      cpu: 1500,
      expected: 70,
    },
  ])("$name", ({ shape, cpu, expected }) => {
    const points = shape.map(([utilization = 0, score = 0]) => ({ utilization, score }));
    expect(score(cpuOnly(points), { cpuMillis: cpu, memoryBytes: 1 }, withCpu(1000))).toBe(expected);
  });

  it("a node without cpu is 100 % used", () => {
    const packing = cpuOnly([
      { utilization: 0, score: 0 },
      { utilization: 100, score: 10 },
    ]);
    expect(score(packing, { cpuMillis: 1, memoryBytes: 1 }, withCpu(0))).toBe(100);
  });

  const packing: ScoringStrategy = {
    type: "RequestedToCapacityRatio",
    requestedToCapacityRatio: {
      shape: [
        { utilization: 0, score: 0 },
        { utilization: 100, score: 10 },
      ],
    },
  };

  it("rounds the weighted average to nearest, as kube does for this strategy", () => {
    // cpu 335 / 1000 → 33; memory 4Gi / 8Gi → 50; (33 + 50) / 2 = 41.5 → 42.
    expect(score(packing, { cpuMillis: 335, memoryBytes: 4 * GiB }, withCpu(1000))).toBe(42);
  });

  it("leaves out a resource that scores 0", () => {
    // cpu 1 / 1000 → 0 %, scores 0 and is left out; memory 4Gi / 8Gi → 50.
    expect(score(packing, { cpuMillis: 1, memoryBytes: 4 * GiB }, withCpu(1000))).toBe(50);
  });

  it("weighs each resource's score, and counts a node without memory as full", () => {
    const weighted = {
      ...packing,
      resources: [
        { name: "cpu", weight: 2 },
        { name: "memory", weight: 1 },
      ],
    };
    // cpu 500 / 1000 → 50, memory 2Gi / 8Gi → 25: (2 · 50 + 25) / 3 = 41.7 → 42.
    expect(score(weighted, { cpuMillis: 500, memoryBytes: 2 * GiB }, withCpu(1000))).toBe(42);
    const noMemory = node("n", { capacity: { cpuMillis: 1000, memoryBytes: 0, pods: 10 } });
    // cpu 50, memory 100 % → 100: (50 + 100) / 2 = 75.
    expect(score(packing, { cpuMillis: 500, memoryBytes: 1 }, noMemory)).toBe(75);
  });
});

describe("LeastAllocated and MostAllocated weights", () => {
  it("weigh cpu and memory in the average, rounded down", () => {
    const strategy: ScoringStrategy = {
      type: "MostAllocated",
      resources: [
        { name: "cpu", weight: 2 },
        { name: "memory", weight: 1 },
      ],
    };
    // cpu 2000 / 4000 → 50, memory 2Gi / 8Gi → 25: (2 · 50 + 25) / 3 = 41.7 → 41.
    expect(score(strategy, { cpuMillis: 2000, memoryBytes: 2 * GiB }, withCpu(4000))).toBe(41);
  });
});

describe("extended resources in the score", () => {
  const mostCpuGpu: ScoringStrategy = {
    type: "MostAllocated",
    resources: [
      { name: "cpu", weight: 1 },
      { name: GPU, weight: 1 },
    ],
  };

  it("a node without the resource leaves it out rather than scoring it 0", () => {
    // cpu 500 / 1000 → 50; the node has no GPU: 50, not (50 + 0) / 2.
    expect(score(mostCpuGpu, { cpuMillis: 500, memoryBytes: 1, extended: { [GPU]: 1 } }, withCpu(1000))).toBe(
      50,
    );
  });

  it("a pod that asks for none leaves it out, whatever the node has in use", () => {
    const gpuNode = withCpu(1000, {
      capacity: { cpuMillis: 1000, memoryBytes: 8 * GiB, pods: 10, extended: { [GPU]: 4 } },
    });
    const using = [bound("b", "n", { requests: { cpuMillis: 0, memoryBytes: 0, extended: { [GPU]: 2 } } })];
    // cpu (100 + 500) / 1000 → 60 (the bound pod's zero cpu counts as 100m); the GPU is left out.
    expect(score(mostCpuGpu, { cpuMillis: 500, memoryBytes: 1 }, gpuNode, using)).toBe(60);
    // Asking for one: GPU (2 + 1) / 4 → 75; (60 + 75) / 2 = 67.
    expect(
      score(mostCpuGpu, { cpuMillis: 500, memoryBytes: 1, extended: { [GPU]: 1 } }, gpuNode, using),
    ).toBe(67);
  });

  it("extended resources named cpu and memory are not the pod's cpu and memory", () => {
    const n = withCpu(1000, {
      capacity: { cpuMillis: 1000, memoryBytes: 8 * GiB, pods: 10, extended: { cpu: 4, memory: 4 } },
    });
    // cpu 500 / 1000 → 50 and memory 4Gi / 8Gi → 50 under MostAllocated; the extended ones are not scored.
    const requests = { cpuMillis: 500, memoryBytes: 4 * GiB, extended: { cpu: 1, memory: 1 } };
    expect(score({ type: "MostAllocated" }, requests, n)).toBe(50);
  });

  it("gives pods with other extended requests other keys", () => {
    const key = (requests: Resources) =>
      resourceAllocation({ type: "LeastAllocated" }).podKey?.(pod("p", { requests }));
    const keys = [
      key({ cpuMillis: 1, memoryBytes: 23 }),
      key({ cpuMillis: 12, memoryBytes: 3 }),
      key({ cpuMillis: 1, memoryBytes: 23, extended: { [GPU]: 1 } }),
      key({ cpuMillis: 1, memoryBytes: 23, extended: { [GPU]: 2 } }),
    ];
    expect(new Set(keys).size).toBe(4);
  });

  it("keeps raw scores apart for pods that differ only in an extended request", () => {
    // MostAllocated over GPUs alone. x: 4 GPUs free; y: 10, 2 in use; z: 1.
    const gpus = (id: string, n: number) =>
      node(id, { capacity: { cpuMillis: 4000, memoryBytes: 8 * GiB, pods: 10, extended: { [GPU]: n } } });
    const plan = schedule(
      {
        nodes: [gpus("x", 4), gpus("y", 10), gpus("z", 1)],
        pods: [bound("b", "y", { requests: { cpuMillis: 0, memoryBytes: 0, extended: { [GPU]: 2 } } })],
      },
      {
        pending: [1, 3].map((n) =>
          pod(`g${n}`, { createdSeq: n, requests: { cpuMillis: 1, memoryBytes: 1, extended: { [GPU]: n } } }),
        ),
      },
      { scorers: [resourceAllocation({ type: "MostAllocated", resources: [{ name: GPU, weight: 1 }] })] },
    );
    // g1: x 25, y 30, z 100 → z. g3: x 75, y 50 → x (a raw score kept from g1 would say y).
    expect(plan.placements.map((p) => [p.podId, p.nodeId])).toEqual([
      ["g1", "z"],
      ["g3", "x"],
    ]);
  });
});

describe("a malformed scoring strategy", () => {
  const rtc = (shape: UtilizationShapePoint[]) => ({
    type: "RequestedToCapacityRatio",
    requestedToCapacityRatio: { shape },
  });
  it.each([
    {
      name: "an unknown type",
      strategy: { type: "Random" },
      message:
        /^scoringStrategy: type must be LeastAllocated, MostAllocated or RequestedToCapacityRatio, got Random$/,
    },
    {
      name: "an empty name",
      strategy: { type: "MostAllocated", resources: [{ name: "", weight: 1 }] },
      message: /^scoringStrategy: every resource needs a name$/,
    },
    {
      name: "a name that is no string",
      strategy: { type: "MostAllocated", resources: [{ name: 7, weight: 1 }] },
      message: /every resource needs a name/,
    },
    {
      name: "a weight above 100",
      strategy: { type: "MostAllocated", resources: [{ name: "cpu", weight: 101 }] },
      message: /^scoringStrategy: weight of cpu must be an integer 1\.\.100$/,
    },
    {
      name: "a weight of 0",
      strategy: { type: "MostAllocated", resources: [{ name: "memory", weight: 0 }] },
      message: /weight of memory must be/,
    },
    {
      name: "a fractional weight",
      strategy: { type: "MostAllocated", resources: [{ name: "cpu", weight: 1.5 }] },
      message: /weight of cpu must be/,
    },
    {
      name: "no shape",
      strategy: { type: "RequestedToCapacityRatio" },
      message: /^scoringStrategy: RequestedToCapacityRatio needs a shape$/,
    },
    { name: "an empty shape", strategy: rtc([]), message: /needs a shape/ },
    {
      name: "a utilization above 100",
      strategy: rtc([{ utilization: 101, score: 1 }]),
      message: /^scoringStrategy: shape utilization must be an integer 0\.\.100$/,
    },
    {
      name: "a negative utilization",
      strategy: rtc([{ utilization: -1, score: 1 }]),
      message: /shape utilization must be/,
    },
    {
      name: "a score above 10",
      strategy: rtc([{ utilization: 0, score: 11 }]),
      message: /^scoringStrategy: shape score must be an integer 0\.\.10$/,
    },
    {
      name: "a fractional score",
      strategy: rtc([{ utilization: 0, score: 0.5 }]),
      message: /shape score must be/,
    },
    {
      name: "a shape going backwards",
      strategy: rtc([
        { utilization: 60, score: 1 },
        { utilization: 50, score: 2 },
      ]),
      message: /^scoringStrategy: shape utilizations must increase$/,
    },
  ])("is rejected: $name", ({ strategy, message }) => {
    expect(() => resourceAllocation(strategy as ScoringStrategy)).toThrow(SchedulerInputError);
    expect(() => resourceAllocation(strategy as ScoringStrategy)).toThrow(message);
  });

  it("accepts the bounds: weights 1 and 100, utilizations 0 and 100, scores 0 and 10", () => {
    const strategy: ScoringStrategy = {
      type: "RequestedToCapacityRatio",
      resources: [
        { name: "cpu", weight: 1 },
        { name: "memory", weight: 100 },
      ],
      requestedToCapacityRatio: {
        shape: [
          { utilization: 0, score: 10 },
          { utilization: 100, score: 0 },
        ],
      },
    };
    expect(() => resourceAllocation(strategy)).not.toThrow();
  });
});
