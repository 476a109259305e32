import { describe, expect, it } from "vitest";
import { schedule } from "../src/index";
import { explain, tally } from "../src/summary";
import { GiB, node, pod } from "./fixtures";

describe("reason summary", () => {
  it.each([
    {
      name: "the Kubernetes example",
      total: 5,
      counts: { "node(s) not ready": 2, "Insufficient memory": 3 },
      text: "0/5 nodes are available: 3 Insufficient memory, 2 node(s) not ready.",
    },
    {
      name: "equal counts in alphabetical order",
      total: 4,
      counts: { "node(s) were unschedulable": 2, "Insufficient cpu": 2 },
      text: "0/4 nodes are available: 2 Insufficient cpu, 2 node(s) were unschedulable.",
    },
    {
      name: "counts above 9 sort as numbers, not text",
      total: 12,
      counts: { "Too many pods": 2, "node(s) didn't match node selector": 10 },
      text: "0/12 nodes are available: 10 node(s) didn't match node selector, 2 Too many pods.",
    },
    {
      name: "a cluster with no nodes",
      total: 0,
      counts: {},
      text: "0/0 nodes are available: the cluster has no nodes.",
    },
  ])("$name", ({ total, counts, text }) => {
    const result = explain(total, new Map(Object.entries(counts)));
    expect(result.reason).toBe(text);
    expect(result.counts).toEqual(counts);
  });

  it("counts a node under each of several reasons", () => {
    const counts = tally([["Insufficient cpu", "Insufficient memory"], "Insufficient cpu", null]);
    expect(Object.fromEntries(counts)).toEqual({ "Insufficient cpu": 2, "Insufficient memory": 1 });
  });

  it("explains an unschedulable pod from every filter that turned a node down", () => {
    const labels = { zone: "a" };
    const nodes = [
      node("a", { labels, ready: false }),
      node("b", { labels, unschedulable: true }),
      node("c", { labels, taints: [{ key: "gpu", value: "true", effect: "NoSchedule" }] }),
      node("d", { labels: { zone: "b" } }),
      node("e", { labels, hostPortRange: { min: 1, max: 0 } }),
      node("f", { labels, capacity: { cpuMillis: 4000, memoryBytes: 1 * GiB, pods: 10 } }),
    ];
    const p = pod("p", {
      nodeSelector: labels,
      hostPortCount: 1,
      requests: { cpuMillis: 100, memoryBytes: 2 * GiB },
    });
    const plan = schedule({ nodes, pods: [] }, { pending: [p] });
    expect(plan.placements).toEqual([]);
    expect(plan.unschedulable).toEqual([
      {
        podId: "p",
        reason:
          "0/6 nodes are available: 1 Insufficient memory, 1 node(s) didn't have free ports, " +
          "1 node(s) didn't match node selector, 1 node(s) had untolerated taint {gpu: true}, " +
          "1 node(s) not ready, 1 node(s) were unschedulable.",
        counts: {
          "Insufficient memory": 1,
          "node(s) didn't have free ports": 1,
          "node(s) didn't match node selector": 1,
          "node(s) had untolerated taint {gpu: true}": 1,
          "node(s) not ready": 1,
          "node(s) were unschedulable": 1,
        },
      },
    ]);
  });

  it("reports a selector mismatch", () => {
    const plan = schedule(
      { nodes: [node("a"), node("b")], pods: [] },
      { pending: [pod("p", { nodeSelector: { zone: "a" } })] },
    );
    expect(plan.unschedulable[0]?.reason).toBe(
      "0/2 nodes are available: 2 node(s) didn't match node selector.",
    );
  });
});
