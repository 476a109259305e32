import { describe, expect, it } from "vitest";
import { balancedAllocation } from "../../src/plugins/balanced-allocation";
import { GiB, node, pod, scores } from "../fixtures";

const capacity = { cpuMillis: 4000, memoryBytes: 8 * GiB, pods: 110 };

describe("BalancedAllocation scorer", () => {
  it.each([
    {
      name: "same fraction of cpu and memory",
      req: { cpuMillis: 2000, memoryBytes: 4 * GiB },
      expected: 100,
    },
    { name: "all cpu, little memory", req: { cpuMillis: 4000, memoryBytes: 200 * 1024 ** 2 }, expected: 51 },
    { name: "quarter cpu, half memory", req: { cpuMillis: 1000, memoryBytes: 4 * GiB }, expected: 87 },
  ])("$name → $expected", ({ req, expected }) => {
    expect(scores(balancedAllocation, pod("p", { requests: req }), [node("n", { capacity })])).toEqual([
      expected,
    ]);
  });

  it("never goes below 50 or above 100", () => {
    const n = node("n", { capacity: { cpuMillis: 1, memoryBytes: 2 ** 50, pods: 10 } });
    const [score] =
      scores(balancedAllocation, pod("p", { requests: { cpuMillis: 10_000, memoryBytes: 0 } }), [n]) ?? [];
    expect(score).toBe(50);
  });
});
