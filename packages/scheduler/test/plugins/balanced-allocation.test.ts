import { describe, expect, it } from "vitest";
import { balancedAllocation } from "../../src/plugins/balanced-allocation";
import { bound, GiB, node, pod, scores } from "../fixtures";

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

  it("caps each fraction at 1: an over-committed resource counts as full, no more", () => {
    const pods = [bound("b", "n", { requests: { cpuMillis: 6000, memoryBytes: 0 } })];
    // cpu min(6500 / 4000, 1) = 1; memory (200Mi + 2Gi) / 8Gi = 0.2685; 100 · (1 − 0.7315 / 2) = 63.
    const p = pod("p", { requests: { cpuMillis: 500, memoryBytes: 2 * GiB } });
    expect(scores(balancedAllocation, p, [node("n", { capacity })], pods)).toEqual([63]);
  });

  it("counts zero requests, the pod's and those already on the node, as 100m / 200Mi", () => {
    const small = { cpuMillis: 200, memoryBytes: 8 * GiB, pods: 10 };
    // cpu 100 / 200 = 0.5; memory 200Mi / 8Gi = 0.0244; 100 · (1 − 0.4756 / 2) = 76.
    expect(
      scores(balancedAllocation, pod("p", { requests: { cpuMillis: 0, memoryBytes: 0 } }), [
        node("n", { capacity: small }),
      ]),
    ).toEqual([76]);
    const idle = [bound("b", "n", { requests: { cpuMillis: 0, memoryBytes: 0 } })];
    // cpu (100 + 100) / 400 = 0.5; memory (200Mi + 200Mi) / 8Gi = 0.0488; 100 · (1 − 0.4512 / 2) = 77.
    const p = pod("p", { requests: { cpuMillis: 100, memoryBytes: 200 * 1024 ** 2 } });
    expect(
      scores(balancedAllocation, p, [node("n", { capacity: { ...small, cpuMillis: 400 } })], idle),
    ).toEqual([77]);
  });

  it.each([
    { name: "no cpu", capacity: { cpuMillis: 0, memoryBytes: 8 * GiB, pods: 10 } },
    { name: "no memory", capacity: { cpuMillis: 4000, memoryBytes: 0, pods: 10 } },
  ])(
    "leaves out a resource the node has none of ($name): one fraction left, 100, as kube",
    ({ capacity }) => {
      const p = pod("p", { requests: { cpuMillis: 0, memoryBytes: 0 } });
      expect(scores(balancedAllocation, p, [node("n", { capacity })])).toEqual([100]);
    },
  );

  it("gives pods with other cpu or memory requests other keys", () => {
    const key = (cpuMillis: number, memoryBytes: number) =>
      balancedAllocation.podKey?.(pod("p", { requests: { cpuMillis, memoryBytes } }));
    expect(new Set([key(1, 2), key(2, 1), key(1, 23), key(12, 3)]).size).toBe(4);
  });
});
