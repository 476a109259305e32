import { describe, expect, it } from "vitest";
import { schedule } from "../src/index";
import type { BoundPod, NodeState, PendingPod } from "../src/types";
import { bound, GiB, node, pod } from "./fixtures";

/** Nodes with room for exactly two 2-cpu pods; the pending pod needs 2 cpu. */
const small = { cpuMillis: 4000, memoryBytes: 8 * GiB, pods: 10 };
const half = { cpuMillis: 2000, memoryBytes: 1 * GiB };
const quarter = { cpuMillis: 1000, memoryBytes: 1 };
const urgent: PendingPod = pod("urgent", { requests: half, priority: 1000 });

function preemption(nodes: NodeState[], pods: BoundPod[], pending: PendingPod[] = [urgent]) {
  const plan = schedule({ nodes, pods }, { pending }, { preemption: true });
  return plan.preemptions.map((p) => ({ node: p.nodeId, victims: p.victims }));
}

const two = [node("a", { capacity: small }), node("b", { capacity: small })];

describe("which node preemption takes (kube's pickOneNodeForPreemption)", () => {
  it("the lowest highest victim priority first", () => {
    const pods = [
      bound("a1", "a", { requests: half, priority: 7 }),
      bound("a2", "a", { requests: half, priority: 9 }),
      bound("b1", "b", { requests: half, priority: 8 }),
      bound("b2", "b", { requests: half, priority: 9 }),
    ];
    expect(preemption(two, pods)).toEqual([{ node: "a", victims: ["a1"] }]);
  });

  it("then the lowest sum of priorities, fewer victims winning before that", () => {
    // Same highest priority (5): a evicts 5 + 5, b evicts 5 + 1: b.
    const pods = [
      bound("a1", "a", { requests: quarter, priority: 5 }),
      bound("a2", "a", { requests: quarter, priority: 5 }),
      bound("a3", "a", { requests: half, priority: 50_000 }),
      bound("b1", "b", { requests: quarter, priority: 5 }),
      bound("b2", "b", { requests: quarter, priority: 1 }),
      bound("b3", "b", { requests: half, priority: 50_000 }),
    ];
    expect(preemption(two, pods)).toEqual([{ node: "b", victims: ["b1", "b2"] }]);
    // a evicts one pod of 5; b two pods of 5 and -100: one victim beats a lower sum.
    const fewer = [
      bound("a1", "a", { requests: half, priority: 5 }),
      bound("a2", "a", { requests: half, priority: 50_000 }),
      bound("b1", "b", { requests: quarter, priority: 5 }),
      bound("b2", "b", { requests: quarter, priority: -100 }),
      bound("b3", "b", { requests: half, priority: 50_000 }),
    ];
    expect(preemption(two, fewer)).toEqual([{ node: "a", victims: ["a1"] }]);
  });

  it("then the latest start among the highest-priority victims, then the first node", () => {
    const pods = (aStart: number, bStart: number) => [
      bound("a1", "a", { requests: half, priority: 5, startedSeq: aStart }),
      bound("a2", "a", { requests: half, priority: 50_000 }),
      bound("b1", "b", { requests: half, priority: 5, startedSeq: bStart }),
      bound("b2", "b", { requests: half, priority: 50_000 }),
    ];
    expect(preemption(two, pods(3, 8))).toEqual([{ node: "b", victims: ["b1"] }]);
    expect(preemption(two, pods(8, 3))).toEqual([{ node: "a", victims: ["a1"] }]);
    expect(preemption(two, pods(4, 4))).toEqual([{ node: "a", victims: ["a1"] }]);
  });

  it("lists victims most important first: priority, then earliest start, then id", () => {
    const n = [node("n", { capacity: { cpuMillis: 4000, memoryBytes: 8 * GiB, pods: 10 } })];
    const pods = [
      bound("v-b", "n", { requests: quarter, priority: 3, startedSeq: 2 }),
      bound("v-a", "n", { requests: quarter, priority: 3, startedSeq: 2 }),
      bound("v-old", "n", { requests: quarter, priority: 3, startedSeq: 1 }),
      bound("v-high", "n", { requests: quarter, priority: 4, startedSeq: 9 }),
    ];
    const everything = pod("urgent", { requests: { cpuMillis: 4000, memoryBytes: 1 }, priority: 1000 });
    expect(preemption(n, pods, [everything])).toEqual([
      { node: "n", victims: ["v-high", "v-old", "v-a", "v-b"] },
    ]);
  });

  it("looks at no more candidates than max(100, 10 % of the nodes), in canonical order", () => {
    // 150 nodes, each full with one priority-10 pod, but n100 holds a priority-1 pod: the better
    // candidate, just beyond the first 100 candidates kube looks at.
    const names = Array.from({ length: 150 }, (_, i) => `n${String(i).padStart(3, "0")}`);
    const nodes = names.map((name) =>
      node(name, { capacity: { cpuMillis: 2000, memoryBytes: 8 * GiB, pods: 10 } }),
    );
    const pods = names.map((name) =>
      bound(`v-${name}`, name, { requests: half, priority: name === "n100" ? 1 : 10 }),
    );
    expect(preemption(nodes, pods)).toEqual([{ node: "n000", victims: ["v-n000"] }]);
    // Within the first 100 candidates it is found.
    const early = names.map((name) =>
      bound(`v-${name}`, name, { requests: half, priority: name === "n099" ? 1 : 10 }),
    );
    expect(preemption(nodes, early)).toEqual([{ node: "n099", victims: ["v-n099"] }]);
  });

  it("charges a budget only for victims it covers", () => {
    const budget = {
      tenantId: "ten_a",
      namespace: "default",
      name: "db",
      selector: { matchLabels: { app: "db" } },
      disruptionsAllowed: 1,
    };
    const pods = [
      bound("web", "a", { requests: half, labels: { app: "web" } }),
      bound("big-a", "a", { requests: half, priority: 5000 }),
      bound("db", "b", { requests: half, labels: { app: "db" } }),
      bound("big-b", "b", { requests: half, priority: 5000 }),
    ];
    const second = pod("urgent2", { requests: half, priority: 1000, createdSeq: 1 });
    const plan = schedule(
      { nodes: two, pods, disruptionBudgets: [budget] },
      { pending: [urgent, second] },
      { preemption: true },
    );
    expect(plan.preemptions.map((p) => p.victims)).toEqual([["web"], ["db"]]);
  });

  it("preempts beside a budget already below zero that its victims do not touch", () => {
    const budget = {
      tenantId: "ten_a",
      namespace: "default",
      name: "x",
      selector: { matchLabels: { app: "x" } },
      disruptionsAllowed: -1,
    };
    const pods = [
      bound("low", "a", { requests: half }),
      bound("big", "a", { requests: half, priority: 5000 }),
    ];
    const plan = schedule(
      { nodes: [two[0] as NodeState], pods, disruptionBudgets: [budget] },
      { pending: [urgent] },
      { preemption: true },
    );
    expect(plan.preemptions.map((p) => p.victims)).toEqual([["low"]]);
  });

  it("a nominated pod waits only for lower-priority pods that are terminating, not for running ones", () => {
    const nominee = { ...urgent, nominatedNodeName: "a" };
    const running = [
      bound("low", "a", { requests: half }),
      bound("big", "a", { requests: half, priority: 5000 }),
    ];
    expect(preemption([two[0] as NodeState], running, [nominee])).toEqual([{ node: "a", victims: ["low"] }]);
    const higherDying = [
      bound("dying", "a", { requests: half, priority: 5000, terminating: true }),
      bound("big", "a", { requests: half, priority: 5000 }),
    ];
    const plan = schedule(
      { nodes: [two[0] as NodeState], pods: higherDying },
      { pending: [nominee] },
      { preemption: true },
    );
    expect(plan.unschedulable.map((u) => [u.podId, u.nominatedNodeName])).toEqual([["urgent", undefined]]);
  });
});
