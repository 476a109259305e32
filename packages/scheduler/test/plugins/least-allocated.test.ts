import { describe, expect, it } from "vitest";
import { leastAllocated } from "../../src/plugins/least-allocated";
import { bound, GiB, node, pod, scores } from "../fixtures";

const capacity = { cpuMillis: 4000, memoryBytes: 8 * GiB, pods: 110 };

describe("LeastAllocated scorer", () => {
  it.each([
    {
      name: "empty node, small pod",
      used: { cpuMillis: 0, memoryBytes: 0 },
      req: { cpuMillis: 1000, memoryBytes: 2 * GiB },
      expected: 75,
    },
    {
      name: "half-used node",
      used: { cpuMillis: 2000, memoryBytes: 4 * GiB },
      req: { cpuMillis: 1000, memoryBytes: 2 * GiB },
      expected: 25,
    },
    {
      name: "pod fills the node",
      used: { cpuMillis: 0, memoryBytes: 0 },
      req: { cpuMillis: 4000, memoryBytes: 8 * GiB },
      expected: 0,
    },
    {
      name: "averages cpu and memory, rounding down",
      used: { cpuMillis: 0, memoryBytes: 0 },
      req: { cpuMillis: 1000, memoryBytes: 1 * GiB },
      expected: 81,
    },
    {
      name: "zero requests count as 100m / 200Mi",
      used: { cpuMillis: 0, memoryBytes: 0 },
      req: { cpuMillis: 0, memoryBytes: 0 },
      expected: 97,
    },
  ])("$name → $expected", ({ used, req, expected }) => {
    const pods = used.cpuMillis > 0 ? [bound("b", "n", { requests: used })] : [];
    expect(scores(leastAllocated, pod("p", { requests: req }), [node("n", { capacity })], pods)).toEqual([
      expected,
    ]);
  });

  it("scores 0 for a resource the node does not have", () => {
    const n = node("n", { capacity: { cpuMillis: 0, memoryBytes: 8 * GiB, pods: 10 } });
    // cpu 0; memory ⌊100 · (8Gi − 200Mi) / 8Gi⌋ = 97; ⌊(0 + 97) / 2⌋ = 48.
    expect(scores(leastAllocated, pod("p", { requests: { cpuMillis: 0, memoryBytes: 0 } }), [n])).toEqual([
      48,
    ]);
  });

  it("stays an exact integer for nodes with terabytes of memory", () => {
    const n = node("n", { capacity: { cpuMillis: 64_000, memoryBytes: 24 * 1024 * GiB, pods: 110 } });
    expect(
      scores(leastAllocated, pod("p", { requests: { cpuMillis: 32_000, memoryBytes: 12 * 1024 * GiB } }), [
        n,
      ]),
    ).toEqual([50]);
  });
});
