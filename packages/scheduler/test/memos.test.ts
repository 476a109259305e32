import { describe, expect, it } from "vitest";
import type { FilterPlugin } from "../src/framework";
import { schedule } from "../src/schedule";
import { bound, GiB, node, pod } from "./fixtures";

/**
 * What the failure memo, the failed-preemption memo and the nominated-node holds must never
 * change: each example here has two pods that a memo keyed or kept too coarsely would confuse.
 */
describe("the failure memo", () => {
  it("re-checks a node placed on since, even one the static filters left out, and counts it once", () => {
    // `wide` may only go to b (zone b), where it lacks cpu; `filler` fills a's one pod slot; the
    // second `wide` is answered by the memo, which must leave a (not a candidate) out of its counts.
    const nodes = [
      node("a", { labels: { zone: "a" }, capacity: { cpuMillis: 4000, memoryBytes: 8 * GiB, pods: 1 } }),
      node("b", { labels: { zone: "b" }, capacity: { cpuMillis: 1000, memoryBytes: 8 * GiB, pods: 10 } }),
    ];
    const wide = (id: string, createdSeq: number) =>
      pod(id, { createdSeq, nodeSelector: { zone: "b" }, requests: { cpuMillis: 3000, memoryBytes: 1 } });
    const filler = pod("filler", {
      createdSeq: 1,
      nodeSelector: { zone: "a" },
      requests: { cpuMillis: 100, memoryBytes: 1 },
    });
    const plan = schedule({ nodes, pods: [] }, { pending: [wide("w1", 0), filler, wide("w2", 2)] });
    expect(plan.placements.map((p) => [p.podId, p.nodeId])).toEqual([["filler", "a"]]);
    const reason = "0/2 nodes are available: 1 Insufficient cpu, 1 node(s) didn't match node selector.";
    expect(plan.unschedulable.map((u) => [u.podId, u.reason])).toEqual([
      ["w1", reason],
      ["w2", reason],
    ]);
  });

  it("is not used for a pod whose verdict looks at other nodes (topology spread)", () => {
    // s1 fits nowhere: a1 would skew zone a (1 + 1 − 0 > 1), b1 lacks cpu. m lands in zone b on
    // b1; now a1 takes s2 (2 − 1 ≤ 1), though only b1, still too small, received a pod.
    const nodes = [
      node("a1", { labels: { zone: "a" } }),
      node("b1", { labels: { zone: "b" }, capacity: { cpuMillis: 500, memoryBytes: 8 * GiB, pods: 10 } }),
    ];
    const app = { app: "web" };
    const spread = (id: string, createdSeq: number) =>
      pod(id, {
        createdSeq,
        labels: app,
        requests: { cpuMillis: 1000, memoryBytes: 1 },
        topologySpreadConstraints: [
          {
            maxSkew: 1,
            topologyKey: "zone",
            whenUnsatisfiable: "DoNotSchedule",
            labelSelector: { matchLabels: app },
          },
        ],
      });
    const m = pod("m", {
      createdSeq: 1,
      labels: app,
      nodeSelector: { zone: "b" },
      requests: { cpuMillis: 100, memoryBytes: 1 },
    });
    const plan = schedule(
      { nodes, pods: [bound("old", "a1", { labels: app })] },
      { pending: [spread("s1", 0), m, spread("s2", 2)] },
    );
    expect(plan.placements.map((p) => [p.podId, p.nodeId])).toEqual([
      ["m", "b1"],
      ["s2", "a1"],
    ]);
    expect(plan.unschedulable.map((u) => u.podId)).toEqual(["s1"]);
  });
});

describe("the failed-preemption memo", () => {
  it("does not count a pod that may not preempt against a twin that may", () => {
    const n = node("n", { capacity: { cpuMillis: 2000, memoryBytes: 8 * GiB, pods: 10 } });
    const low = bound("low", "n", { requests: { cpuMillis: 2000, memoryBytes: 1 }, priority: 0 });
    const urgent = (id: string, createdSeq: number, never: boolean) =>
      pod(id, {
        createdSeq,
        priority: 100,
        requests: { cpuMillis: 2000, memoryBytes: 1 },
        ...(never ? { preemptionPolicy: "Never" as const } : {}),
      });
    const plan = schedule(
      { nodes: [n], pods: [low] },
      { pending: [urgent("polite", 0, true), urgent("pushy", 1, false)] },
      { preemption: true },
    );
    expect(plan.unschedulable.map((u) => u.podId)).toEqual(["polite"]);
    expect(plan.preemptions.map((p) => [p.podId, p.victims])).toEqual([["pushy", ["low"]]]);
  });
});

describe("the failed-preemption memo, when a nominated node is given back", () => {
  it("forgets: a twin of a pod whose preemption failed may preempt once the hold is gone", () => {
    // n: 2 cpu, 1 taken by `low`; x, nominated to n, holds another. y needs all of n: evicting
    // `low` is not enough while x holds its cpu. z lands on n and x's anti-affinity keeps x off
    // it: x gives its hold back and goes to m. y2, y's twin, now frees n by evicting `low`.
    const nodes = [
      node("m", { capacity: { cpuMillis: 1000, memoryBytes: 8 * GiB, pods: 10 } }),
      node("n", { labels: { pool: "n" }, capacity: { cpuMillis: 2000, memoryBytes: 8 * GiB, pods: 10 } }),
    ];
    const low = bound("low", "n", { requests: { cpuMillis: 1000, memoryBytes: 1 }, priority: 0 });
    const onN = { nodeSelector: { pool: "n" }, priority: 100 };
    const y = (id: string, createdSeq: number) =>
      pod(id, { ...onN, createdSeq, requests: { cpuMillis: 2000, memoryBytes: 1 } });
    const pending = [
      pod("z", { ...onN, createdSeq: 0, labels: { app: "z" }, requests: { cpuMillis: 0, memoryBytes: 1 } }),
      y("y", 1),
      pod("x", {
        createdSeq: 2,
        priority: 100,
        nominatedNodeName: "n",
        requests: { cpuMillis: 1000, memoryBytes: 1 },
        affinity: {
          podAntiAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: [
              { labelSelector: { matchLabels: { app: "z" } }, topologyKey: "kubernetes.io/hostname" },
            ],
          },
        },
      }),
      y("y2", 3),
    ];
    const plan = schedule({ nodes, pods: [low] }, { pending }, { preemption: true });
    expect(plan.placements.map((p) => [p.podId, p.nodeId])).toEqual([
      ["z", "n"],
      ["x", "m"],
    ]);
    expect(plan.unschedulable.map((u) => u.podId)).toEqual(["y"]);
    expect(plan.preemptions.map((p) => [p.podId, p.victims])).toEqual([["y2", ["low"]]]);
  });
});

describe("nominated nodes", () => {
  it("are all held while their priority's pods go, not only the last one's", () => {
    // a and b have room for one pod each; x and y were nominated to them in an earlier plan.
    // `early`, of the same priority but older, finds both held.
    const one = { cpuMillis: 1000, memoryBytes: 8 * GiB, pods: 10 };
    const nodes = [node("a", { capacity: one }), node("b", { capacity: one })];
    const requests = { cpuMillis: 1000, memoryBytes: 1 };
    const pending = [
      pod("early", { createdSeq: 0, requests }),
      pod("x", { createdSeq: 1, requests, nominatedNodeName: "a" }),
      pod("y", { createdSeq: 2, requests, nominatedNodeName: "b" }),
    ];
    const plan = schedule({ nodes, pods: [] }, { pending });
    expect(plan.placements.map((p) => [p.podId, p.nodeId])).toEqual([
      ["x", "a"],
      ["y", "b"],
    ]);
    expect(plan.unschedulable.map((u) => u.podId)).toEqual(["early"]);
  });
});

describe("static filters", () => {
  it("run before the built-in dynamic ones, extra filters too: the first rejection names them", () => {
    const notDraining: FilterPlugin = {
      name: "NotDraining",
      static: true,
      podKey: () => "",
      prepare: () => (info) => (info.node.labels.draining === "true" ? "node(s) were draining" : null),
    };
    const n = node("n", {
      labels: { draining: "true" },
      capacity: { cpuMillis: 100, memoryBytes: 8 * GiB, pods: 10 },
    });
    const plan = schedule({ nodes: [n], pods: [] }, { pending: [pod("p")] }, { extraFilters: [notDraining] });
    expect(plan.unschedulable[0]?.reason).toBe("0/1 nodes are available: 1 node(s) were draining.");
  });
});
