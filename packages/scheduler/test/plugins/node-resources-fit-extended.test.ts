import { describe, expect, it } from "vitest";
import { nodeResourcesFit } from "../../src/plugins/node-resources-fit";
import { schedule } from "../../src/schedule";
import type { Resources } from "../../src/types";
import { bound, GiB, node, pod, verdict } from "../fixtures";

const GPU = "berth.dev/gpu";
const FPGA = "vendor.io/fpga";
const capacity = { cpuMillis: 2000, memoryBytes: 4 * GiB, pods: 3, extended: { [GPU]: 2 } };
const gpuNode = node("n", { capacity });
const usedGpus = (n: number) =>
  bound("b", "n", { requests: { cpuMillis: 0, memoryBytes: 0, extended: { [GPU]: n } } });

describe("NodeResourcesFit with extended resources", () => {
  // The same boundaries as without extended resources: a pod that also asks for a GPU the node has.
  it.each([
    { name: "cpu and memory to the last unit", cpu: 2000, mem: 4 * GiB, pods: 0, expected: null },
    { name: "one millicore too many", cpu: 2001, mem: 1, pods: 0, expected: "Insufficient cpu" },
    { name: "one byte too many", cpu: 1, mem: 4 * GiB + 1, pods: 0, expected: "Insufficient memory" },
    { name: "the last pod slot", cpu: 1, mem: 1, pods: 2, expected: null },
    { name: "no pod slot left", cpu: 1, mem: 1, pods: 3, expected: "Too many pods" },
    {
      name: "cpu and memory",
      cpu: 2001,
      mem: 4 * GiB + 1,
      pods: 0,
      expected: ["Insufficient cpu", "Insufficient memory"],
    },
  ])("$name", ({ cpu, mem, pods, expected }) => {
    const bounds = Array.from({ length: pods }, (_, i) =>
      bound(`b${i}`, "n", { requests: { cpuMillis: 0, memoryBytes: 0 } }),
    );
    const p = pod("p", { requests: { cpuMillis: cpu, memoryBytes: mem, extended: { [GPU]: 1 } } });
    expect(verdict(nodeResourcesFit, p, gpuNode, bounds)).toEqual(expected);
  });

  it.each<{ name: string; requests: Resources; used: number; expected: unknown }>([
    {
      name: "one extended shortfall after one of cpu, memory, pods",
      requests: { cpuMillis: 9000, memoryBytes: 1, extended: { [GPU]: 3 } },
      used: 0,
      expected: ["Insufficient cpu", `Insufficient ${GPU}`],
    },
    {
      name: "one extended shortfall after cpu and memory",
      requests: { cpuMillis: 9000, memoryBytes: 9 * GiB, extended: { [GPU]: 1 } },
      used: 2,
      expected: ["Insufficient cpu", "Insufficient memory", `Insufficient ${GPU}`],
    },
    {
      name: "two extended shortfalls alone, by name whatever the order asked",
      requests: { cpuMillis: 1, memoryBytes: 1, extended: { [FPGA]: 1, [GPU]: 3 } },
      used: 0,
      expected: [`Insufficient ${GPU}`, `Insufficient ${FPGA}`],
    },
    {
      name: "a GPU that fits next to one in use",
      requests: { cpuMillis: 1, memoryBytes: 1, extended: { [GPU]: 1 } },
      used: 1,
      expected: null,
    },
    {
      name: "asking for 0 asks for nothing, even on a node over-committed on it",
      requests: { cpuMillis: 1, memoryBytes: 1, extended: { [GPU]: 0 } },
      used: 3,
      expected: null,
    },
  ])("$name", ({ requests, used, expected }) => {
    const pods = used > 0 ? [usedGpus(used)] : [];
    expect(verdict(nodeResourcesFit, pod("p", { requests }), gpuNode, pods)).toEqual(expected);
  });

  it("a node that advertises other extended resources has none of this one", () => {
    const fpgaNode = node("n", { capacity: { ...capacity, extended: { [FPGA]: 4 } } });
    const p = pod("p", { requests: { cpuMillis: 1, memoryBytes: 1, extended: { [GPU]: 1 } } });
    expect(verdict(nodeResourcesFit, p, fpgaNode)).toBe(`Insufficient ${GPU}`);
  });
});

describe("NodeResourcesFit's pod key", () => {
  const plan = (first: Resources, second: Resources, nodeCapacity = capacity) =>
    schedule(
      { nodes: [node("n", { capacity: nodeCapacity })], pods: [] },
      {
        pending: [
          pod("a", { requests: first, createdSeq: 1 }),
          pod("b", { requests: second, createdSeq: 2 }),
        ],
      },
    );

  // The first pod fits nowhere; the second differs only in one part of the key and fits: a key
  // that left that part out would have the failure memo turn it away too.
  it.each<{ name: string; first: Resources; second: Resources }>([
    { name: "cpu", first: { cpuMillis: 3000, memoryBytes: 1 }, second: { cpuMillis: 1000, memoryBytes: 1 } },
    {
      name: "memory",
      first: { cpuMillis: 1, memoryBytes: 5 * GiB },
      second: { cpuMillis: 1, memoryBytes: 1 * GiB },
    },
    {
      name: "an extended amount",
      first: { cpuMillis: 1, memoryBytes: 1, extended: { [GPU]: 3 } },
      second: { cpuMillis: 1, memoryBytes: 1, extended: { [GPU]: 1 } },
    },
    {
      name: "an extended resource's name",
      first: { cpuMillis: 1, memoryBytes: 1, extended: { [FPGA]: 1 } },
      second: { cpuMillis: 1, memoryBytes: 1, extended: { [GPU]: 1 } },
    },
  ])("pods differing only in $name get their own verdicts", ({ first, second }) => {
    const { placements, unschedulable } = plan(first, second);
    expect(unschedulable.map((u) => u.podId)).toEqual(["a"]);
    expect(placements.map((x) => x.podId)).toEqual(["b"]);
  });

  it("orders extended resources and drops zero amounts, so equal requests share a key", () => {
    const key = (requests: Resources) => nodeResourcesFit.podKey?.(pod("p", { requests }));
    const base = { cpuMillis: 1, memoryBytes: 2 };
    expect(key({ ...base, extended: { [GPU]: 1, [FPGA]: 2 } })).toBe(
      key({ ...base, extended: { [FPGA]: 2, [GPU]: 1 } }),
    );
    expect(key({ ...base, extended: { [GPU]: 0 } })).toBe(key(base));
    expect(key({ cpuMillis: 1, memoryBytes: 23 })).not.toBe(key({ cpuMillis: 12, memoryBytes: 3 }));
  });
});
