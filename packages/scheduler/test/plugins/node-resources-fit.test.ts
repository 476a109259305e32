import { describe, expect, it } from "vitest";
import { nodeResourcesFit } from "../../src/plugins/node-resources-fit";
import { schedule } from "../../src/schedule";
import { bound, GiB, node, pod, verdict } from "../fixtures";

const capacity = { cpuMillis: 2000, memoryBytes: 4 * GiB, pods: 3 };

describe("NodeResourcesFit filter", () => {
  it.each([
    { name: "fits on an empty node", cpu: 1000, mem: 1 * GiB, used: [], expected: null },
    {
      name: "fits exactly to the last millicore and byte",
      cpu: 2000,
      mem: 4 * GiB,
      used: [],
      expected: null,
    },
    { name: "one millicore too many", cpu: 2001, mem: 1 * GiB, used: [], expected: "Insufficient cpu" },
    { name: "one byte too many", cpu: 100, mem: 4 * GiB + 1, used: [], expected: "Insufficient memory" },
    {
      name: "bound pods count against capacity",
      cpu: 1500,
      mem: 1 * GiB,
      used: [{ cpuMillis: 1000, memoryBytes: 1 * GiB }],
      expected: "Insufficient cpu",
    },
    {
      name: "reports cpu and memory together",
      cpu: 3000,
      mem: 5 * GiB,
      used: [],
      expected: ["Insufficient cpu", "Insufficient memory"],
    },
    {
      name: "pod count is a resource too",
      cpu: 0,
      mem: 0,
      used: [
        { cpuMillis: 0, memoryBytes: 0 },
        { cpuMillis: 0, memoryBytes: 0 },
        { cpuMillis: 0, memoryBytes: 0 },
      ],
      expected: "Too many pods",
    },
    {
      name: "an over-committed node takes nothing, not even a zero request",
      cpu: 0,
      mem: 0,
      used: [{ cpuMillis: 2500, memoryBytes: 0 }],
      expected: "Insufficient cpu",
    },
    {
      name: "all three at once",
      cpu: 1,
      mem: 1,
      used: [
        { cpuMillis: 2000, memoryBytes: 4 * GiB },
        { cpuMillis: 0, memoryBytes: 0 },
        { cpuMillis: 0, memoryBytes: 0 },
      ],
      expected: ["Too many pods", "Insufficient cpu", "Insufficient memory"],
    },
  ])("$name", ({ cpu, mem, used, expected }) => {
    const n = node("n", { capacity });
    const pods = used.map((requests, i) => bound(`b${i}`, "n", { requests }));
    expect(
      verdict(nodeResourcesFit, pod("p", { requests: { cpuMillis: cpu, memoryBytes: mem } }), n, pods),
    ).toEqual(expected);
  });

  it("ignores bound pods on nodes that are not in the snapshot", () => {
    const pods = [bound("ghost", "gone", { requests: { cpuMillis: 9000, memoryBytes: 9 * GiB } })];
    expect(verdict(nodeResourcesFit, pod("p"), node("n", { capacity }), pods)).toBeNull();
  });

  describe("extended resources", () => {
    const GPU = "berth.dev/gpu";
    const gpuNode = node("n", { capacity: { ...capacity, extended: { [GPU]: 2 } } });
    const wanting = (n: number) =>
      pod("p", { requests: { cpuMillis: 100, memoryBytes: 1, extended: { [GPU]: n } } });

    it.each([
      { name: "fits to the last unit", want: 2, used: 0, expected: null },
      { name: "one unit too many", want: 1, used: 2, expected: `Insufficient ${GPU}` },
      { name: "asking for 0 asks for nothing", want: 0, used: 2, expected: null },
    ])("$name", ({ want, used, expected }) => {
      const pods =
        used > 0
          ? [bound("b", "n", { requests: { cpuMillis: 0, memoryBytes: 0, extended: { [GPU]: used } } })]
          : [];
      expect(verdict(nodeResourcesFit, wanting(want), gpuNode, pods)).toEqual(expected);
    });

    it("a node that does not advertise the resource has none", () => {
      expect(verdict(nodeResourcesFit, wanting(1), node("n", { capacity }))).toEqual(`Insufficient ${GPU}`);
    });

    it("reports extended shortfalls after cpu, memory and pods", () => {
      const big = pod("p", {
        requests: { cpuMillis: 9000, memoryBytes: 1, extended: { [GPU]: 3, "vendor.io/fpga": 1 } },
      });
      expect(verdict(nodeResourcesFit, big, gpuNode)).toEqual([
        "Insufficient cpu",
        `Insufficient ${GPU}`,
        "Insufficient vendor.io/fpga",
      ]);
    });

    it("never over-commits an extended resource in a plan", () => {
      const plan = schedule(
        { nodes: [gpuNode], pods: [] },
        { pending: [1, 2, 3].map((i) => ({ ...wanting(1), id: `p${i}`, createdSeq: i })) },
      );
      expect(plan.placements.map((x) => x.podId)).toEqual(["p1", "p2"]);
      expect(plan.unschedulable[0]?.reason).toBe(`0/1 nodes are available: 1 Insufficient ${GPU}.`);
    });
  });
});
