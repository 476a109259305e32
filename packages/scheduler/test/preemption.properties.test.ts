import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { budgetCovers, schedule } from "../src/index";
import type { BoundPod, DisruptionBudget, NodeState, PendingPod, Plan, Resources } from "../src/types";
import { GiB } from "./fixtures";
import { propertyRuns } from "./property-runs";

/**
 * Preemption under pressure: small full nodes, bound pods of a few priorities under tight
 * PodDisruptionBudgets, one urgent pending pod. Unlike the broad constrained scenario, most cases
 * here preempt, so the properties below are seldom vacuous (each test checks how often).
 */
const CAPACITY = { cpuMillis: 4000, memoryBytes: 8 * GiB };
const RUNS = { numRuns: propertyRuns(400), seed: 2026 };

interface Case {
  nodes: NodeState[];
  pods: BoundPod[];
  budgets: DisruptionBudget[];
  pod: PendingPod;
}

const pressure: fc.Arbitrary<Case> = fc
  .record({
    nodes: fc.integer({ min: 1, max: 3 }),
    maxPods: fc.integer({ min: 3, max: 6 }),
    bound: fc.array(
      fc.record({
        node: fc.nat(2),
        cpu: fc.constantFrom(500, 1000, 2000),
        memory: fc.constantFrom(1, 2, 4),
        priority: fc.integer({ min: 0, max: 3 }),
        startedSeq: fc.nat(3),
        app: fc.constantFrom("a", "b", "c"),
        terminating: fc.nat(7).map((n) => n === 0),
      }),
      { minLength: 2, maxLength: 12 },
    ),
    budgets: fc.array(fc.record({ app: fc.constantFrom("a", "b"), allowed: fc.nat(1) }), {
      minLength: 1,
      maxLength: 2,
    }),
    pod: fc.record({
      cpu: fc.constantFrom(1000, 2000, 3000),
      memory: fc.constantFrom(1, 2, 4),
      priority: fc.integer({ min: 1, max: 4 }),
      never: fc.nat(9).map((n) => n === 0),
    }),
  })
  .map((c) => {
    const nodes = Array.from(
      { length: c.nodes },
      (_, i): NodeState => ({
        id: `node_${i}`,
        name: `n${i}`,
        ready: true,
        unschedulable: false,
        capacity: { ...CAPACITY, pods: c.maxPods },
        labels: {},
        taints: [],
        hostPortRange: { min: 1, max: 0 },
      }),
    );
    const pods = c.bound.map(
      (b, i): BoundPod => ({
        id: `bound_${i}`,
        nodeId: `node_${b.node % c.nodes}`,
        requests: { cpuMillis: b.cpu, memoryBytes: b.memory * GiB },
        hostPorts: [],
        tenantId: "t",
        namespace: "ns",
        labels: { app: b.app },
        priority: b.priority,
        startedSeq: b.startedSeq,
        ...(b.terminating ? { terminating: true } : {}),
      }),
    );
    const budgets = c.budgets.map(
      (b, i): DisruptionBudget => ({
        tenantId: "t",
        namespace: "ns",
        name: `pdb_${i}`,
        selector: { matchLabels: { app: b.app } },
        disruptionsAllowed: b.allowed,
      }),
    );
    const pod: PendingPod = {
      id: "urgent",
      tenantId: "t",
      namespace: "ns",
      requests: { cpuMillis: c.pod.cpu, memoryBytes: c.pod.memory * GiB },
      hostPortCount: 0,
      priority: c.pod.priority,
      createdSeq: 0,
      ...(c.pod.never ? { preemptionPolicy: "Never" as const } : {}),
    };
    return { nodes, pods, budgets, pod };
  });

function plan(c: Case): Plan {
  return schedule(
    { nodes: c.nodes, pods: c.pods, disruptionBudgets: c.budgets },
    { pending: [c.pod] },
    { preemption: true },
  );
}

/** Whether `extra` fits on the node beside `pods` (cpu, memory, pod count). */
function fits(node: NodeState, pods: readonly { requests: Resources }[], extra: Resources): boolean {
  const cpu = pods.reduce((sum, p) => sum + p.requests.cpuMillis, extra.cpuMillis);
  const memory = pods.reduce((sum, p) => sum + p.requests.memoryBytes, extra.memoryBytes);
  return (
    cpu <= node.capacity.cpuMillis && memory <= node.capacity.memoryBytes && pods.length < node.capacity.pods
  );
}

/** Runs `check` on every case and returns in how many of them the pod preempted. */
function preempting(check: (c: Case, p: Plan) => void): number {
  let count = 0;
  fc.assert(
    fc.property(pressure, (c) => {
      const p = plan(c);
      if (p.preemptions.length > 0) count += 1;
      check(c, p);
    }),
    RUNS,
  );
  return count;
}

const minimumShare = (runs: number) => Math.ceil(RUNS.numRuns * runs);

describe("preemption properties (fixed seed)", () => {
  it("evicts only running lower-priority pods bound to the node it takes, never for a Never pod", () => {
    const count = preempting((c, p) => {
      for (const preemption of p.preemptions) {
        expect(c.pod.preemptionPolicy).not.toBe("Never");
        expect(preemption.victims.length).toBeGreaterThan(0);
        expect(new Set(preemption.victims).size).toBe(preemption.victims.length);
        for (const id of preemption.victims) {
          const victim = c.pods.find((b) => b.id === id);
          expect(victim?.nodeId).toBe(preemption.nodeId);
          expect(victim?.priority ?? Number.POSITIVE_INFINITY).toBeLessThan(c.pod.priority);
          expect(victim?.terminating).toBeUndefined();
        }
      }
    });
    expect(count).toBeGreaterThanOrEqual(minimumShare(0.1));
  });

  it("never takes a PodDisruptionBudget below zero", () => {
    let budgetsSpent = 0;
    preempting((c, p) => {
      const victims = p.preemptions.flatMap((x) => x.victims).map((id) => c.pods.find((b) => b.id === id));
      for (const budget of c.budgets) {
        const taken = victims.filter((v) => v !== undefined && budgetCovers(budget, v)).length;
        expect(taken).toBeLessThanOrEqual(budget.disruptionsAllowed);
        if (taken > 0 && taken === budget.disruptionsAllowed) budgetsSpent += 1;
      }
    });
    // Not vacuous: budgets are often spent to the last disruption.
    expect(budgetsSpent).toBeGreaterThanOrEqual(minimumShare(0.03));
  });

  it("frees enough on the node for the pod, and no more: each victim put back would leave it no room", () => {
    preempting((c, p) => {
      for (const preemption of p.preemptions) {
        const node = c.nodes.find((n) => n.id === preemption.nodeId) as NodeState;
        const victims = new Set(preemption.victims);
        const staying = c.pods.filter((b) => b.nodeId === node.id && !victims.has(b.id));
        expect(fits(node, staying, c.pod.requests)).toBe(true);
        for (const id of victims) {
          const back = c.pods.find((b) => b.id === id) as BoundPod;
          expect({ victim: id, fits: fits(node, [...staying, back], c.pod.requests) }).toEqual({
            victim: id,
            fits: false,
          });
        }
      }
    });
  });

  it("preempts only when the pod fits nowhere as things are, and places it when it fits somewhere", () => {
    preempting((c, p) => {
      const fitsSomewhere = c.nodes.some((n) =>
        fits(
          n,
          c.pods.filter((b) => b.nodeId === n.id),
          c.pod.requests,
        ),
      );
      expect(p.placements.length).toBe(fitsSomewhere ? 1 : 0);
      if (fitsSomewhere) expect(p.preemptions).toEqual([]);
    });
  });

  it("gives the same plan for the same input, in any order of nodes, pods and budgets", () => {
    const permuted = pressure.chain((c) =>
      fc.tuple(
        fc.constant(c),
        fc.shuffledSubarray(c.nodes, { minLength: c.nodes.length }),
        fc.shuffledSubarray(c.pods, { minLength: c.pods.length }),
        fc.shuffledSubarray(c.budgets, { minLength: c.budgets.length }),
      ),
    );
    fc.assert(
      fc.property(permuted, ([c, nodes, pods, budgets]) => {
        expect(plan({ ...c, nodes, pods, budgets })).toEqual(plan(c));
      }),
      RUNS,
    );
  });
});
