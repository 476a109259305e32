import { describe, expect, it } from "vitest";
import type { ScheduleOptions } from "../src/index";
import {
  disruptionsAllowed,
  resolvePriority,
  SchedulerInputError,
  schedule as scheduleWith,
} from "../src/index";
import type { BoundPod, DisruptionBudget, PendingPod } from "../src/types";
import { bound, GiB, node, pod } from "./fixtures";

/** These tests are about preemption, so it is on unless a test turns it off. */
function schedule(...[snapshot, request, options]: Parameters<typeof scheduleWith>) {
  return scheduleWith(snapshot, request, { preemption: true, ...(options as ScheduleOptions | undefined) });
}

/** Nodes with room for exactly two 2-cpu pods. */
const small = { cpuMillis: 4000, memoryBytes: 8 * GiB, pods: 10 };
const half = { cpuMillis: 2000, memoryBytes: 1 * GiB };
const full = { cpuMillis: 4000, memoryBytes: 1 * GiB };

function victim(id: string, nodeId: string, priority: number, extra: Partial<BoundPod> = {}): BoundPod {
  return bound(id, nodeId, { requests: half, priority, ...extra });
}

const urgent: PendingPod = pod("urgent", { requests: half, priority: 1000 });

describe("preemption", () => {
  it("evicts only lower-priority pods, and only as many as needed", () => {
    const plan = schedule(
      { nodes: [node("n", { capacity: small })], pods: [victim("low1", "n", 0), victim("low2", "n", 0)] },
      { pending: [urgent] },
    );
    expect(plan.placements).toEqual([]);
    expect(plan.preemptions).toEqual([
      {
        podId: "urgent",
        nominatedNodeName: "n",
        nodeId: "n",
        victims: ["low2"],
        reason: "0/1 nodes are available: 1 Insufficient cpu.",
      },
    ]);
  });

  it("never evicts pods of equal or higher priority", () => {
    const plan = schedule(
      {
        nodes: [node("n", { capacity: small })],
        pods: [victim("same", "n", 1000), victim("high", "n", 2000)],
      },
      { pending: [urgent] },
    );
    expect(plan.preemptions).toEqual([]);
    expect(plan.unschedulable.map((u) => u.podId)).toEqual(["urgent"]);
  });

  it("keeps the more important of two candidates: the later-started pod of the same priority goes", () => {
    const plan = schedule(
      {
        nodes: [node("n", { capacity: small })],
        pods: [victim("old", "n", 5, { startedSeq: 1 }), victim("new", "n", 5, { startedSeq: 2 })],
      },
      { pending: [urgent] },
    );
    expect(plan.preemptions[0]?.victims).toEqual(["new"]);
  });

  it("chooses the node whose highest victim priority is lowest, then fewest victims", () => {
    const nodes = [
      node("a", { capacity: small }),
      node("b", { capacity: small }),
      node("c", { capacity: small }),
    ];
    const pods = [
      victim("a1", "a", 100),
      victim("a2", "a", 100),
      bound("b1", "b", { requests: { cpuMillis: 1000, memoryBytes: 1 }, priority: 10 }),
      bound("b2", "b", { requests: { cpuMillis: 1000, memoryBytes: 1 }, priority: 10 }),
      bound("b3", "b", { requests: { cpuMillis: 2000, memoryBytes: 1 }, priority: 10 }),
      victim("c1", "c", 10),
      victim("c2", "c", 10),
    ];
    const plan = schedule({ nodes, pods }, { pending: [urgent] });
    // a: highest victim 100. b: one 2-cpu pod or two 1-cpu pods, both priority 10. c: one pod of 10.
    expect(plan.preemptions[0]?.nodeId).toBe("b");
    expect(plan.preemptions[0]?.victims).toEqual(["b3"]);
    const noB = schedule(
      { nodes: [nodes[0], nodes[2]].flatMap((n) => (n ? [n] : [])), pods },
      { pending: [urgent] },
    );
    expect(noB.preemptions[0]?.nodeId).toBe("c");
  });

  it("never takes a PodDisruptionBudget below zero, and charges it across the plan", () => {
    const guarded = { labels: { app: "db" } };
    const nodes = [node("a", { capacity: small }), node("b", { capacity: small })];
    const pods = [victim("db1", "a", 0, guarded), victim("x", "a", 0, { requests: half, priority: 500 })];
    pods.push(victim("db2", "b", 0, guarded), victim("y", "b", 0, { requests: half, priority: 500 }));
    const budget: DisruptionBudget = {
      tenantId: "ten_a",
      namespace: "default",
      name: "db",
      selector: { matchLabels: { app: "db" } },
      disruptionsAllowed: 1,
    };
    const second = pod("urgent2", { requests: half, priority: 1000, createdSeq: 1 });
    const third = pod("urgent3", { requests: half, priority: 1000, createdSeq: 2 });
    const plan = schedule({ nodes, pods, disruptionBudgets: [budget] }, { pending: [urgent, second, third] });
    const victims = plan.preemptions.flatMap((p) => p.victims);
    // One db pod may go; after that only the priority-500 pods are evictable.
    expect(victims.filter((v) => v.startsWith("db"))).toHaveLength(1);
    expect(plan.preemptions.map((p) => p.podId)).toEqual(["urgent", "urgent2"]);
    expect(plan.unschedulable.map((u) => u.podId)).toEqual(["urgent3"]);
    const none = schedule(
      { nodes, pods, disruptionBudgets: [{ ...budget, disruptionsAllowed: 0 }] },
      { pending: [urgent] },
    );
    expect(none.preemptions[0]?.victims.some((v) => v.startsWith("db"))).toBe(false);
  });

  it("does nothing for pods with preemptionPolicy Never, or when not switched on", () => {
    const snapshot = {
      nodes: [node("n", { capacity: small })],
      pods: [bound("low", "n", { requests: full })],
    };
    expect(schedule(snapshot, { pending: [{ ...urgent, preemptionPolicy: "Never" }] }).preemptions).toEqual(
      [],
    );
    expect(schedule(snapshot, { pending: [urgent] }, { preemption: false }).preemptions).toEqual([]);
    // Off by default, so a caller that does not act on preemptions yet is not surprised.
    expect(scheduleWith(snapshot, { pending: [urgent] }).preemptions).toEqual([]);
    expect(scheduleWith(snapshot, { pending: [urgent] }).unschedulable.map((u) => u.podId)).toEqual([
      "urgent",
    ]);
    expect(schedule(snapshot, { pending: [urgent] }).preemptions).toHaveLength(1);
  });

  it("does not preempt on nodes evicting cannot help (a selector that does not match)", () => {
    const snapshot = {
      nodes: [node("n", { capacity: small, labels: { pool: "a" } })],
      pods: [bound("low", "n", { requests: full })],
    };
    expect(schedule(snapshot, { pending: [{ ...urgent, nodeSelector: { pool: "b" } }] }).preemptions).toEqual(
      [],
    );
  });

  it("holds the nominated node against lower-priority pods later in the same plan", () => {
    const snapshot = {
      nodes: [node("n", { capacity: small })],
      pods: [bound("low", "n", { requests: full })],
    };
    // Priority 0, as the victim: it may not preempt, and the reservation leaves it no room.
    const later = pod("later", { requests: { cpuMillis: 0, memoryBytes: 0 }, priority: 0 });
    const plan = schedule(snapshot, { pending: [urgent, later] });
    expect(plan.preemptions.map((p) => p.podId)).toEqual(["urgent"]);
    expect(plan.placements).toEqual([]);
    expect(plan.unschedulable.map((u) => u.podId)).toEqual(["later"]);
  });

  it("places a nominated pod on its node once the victims are gone, and waits while they terminate", () => {
    const nodes = [node("a", { capacity: small }), node("b", { capacity: small })];
    const nominated = { ...urgent, nominatedNodeName: "b" };
    const gone = schedule({ nodes, pods: [] }, { pending: [nominated] });
    expect(gone.placements).toEqual([{ podId: "urgent", nodeId: "b", hostPorts: [] }]);
    const terminating = [
      bound("dying", "b", { requests: full, terminating: true }),
      bound("busy", "a", { requests: full }),
    ];
    const waiting = schedule({ nodes, pods: terminating }, { pending: [nominated] });
    expect(waiting.preemptions).toEqual([]);
    expect(waiting.unschedulable.map((u) => u.podId)).toEqual(["urgent"]);
  });
});

describe("nominated pods across plans", () => {
  const nodes = [node("n", { capacity: small })];
  const room = [bound("busy", "n", { requests: half, priority: 5000 })];

  it("hold their node against pods of equal or lower priority that come first", () => {
    // Same priority, another tenant, older: it goes first, but the room is held for the nominee.
    const nominee = pod("nominee", { requests: half, priority: 1000, createdSeq: 5, nominatedNodeName: "n" });
    const rival = pod("rival", { requests: half, priority: 1000, createdSeq: 1, tenantId: "ten_b" });
    const plan = schedule({ nodes, pods: room }, { pending: [nominee, rival] });
    expect(plan.placements).toEqual([{ podId: "nominee", nodeId: "n", hostPorts: [] }]);
    expect(plan.unschedulable.map((u) => u.podId)).toEqual(["rival"]);
  });

  it("do not hold it against pods of higher priority", () => {
    const nominee = pod("nominee", { requests: half, priority: 10, nominatedNodeName: "n" });
    const higher = pod("higher", { requests: half, priority: 1000 });
    const plan = schedule({ nodes, pods: room }, { pending: [nominee, higher] }, { preemption: false });
    expect(plan.placements).toEqual([{ podId: "higher", nodeId: "n", hostPorts: [] }]);
  });

  it("keep the nomination while their victims terminate, and say so", () => {
    const dying = [bound("dying", "n", { requests: full, terminating: true })];
    const nominee = pod("nominee", { requests: half, priority: 1000, nominatedNodeName: "n" });
    const later = pod("later", { requests: { cpuMillis: 0, memoryBytes: 0 }, priority: 1000, createdSeq: 9 });
    const plan = schedule({ nodes, pods: dying }, { pending: [nominee, later] });
    expect(plan.unschedulable.find((u) => u.podId === "nominee")?.nominatedNodeName).toBe("n");
    expect(plan.preemptions).toEqual([]);
    // The hold stays for the rest of the plan.
    expect(plan.placements).toEqual([]);
  });

  it("lose the nomination when preemption finds nothing", () => {
    const stuck = [bound("peer", "n", { requests: full, priority: 1000 })];
    const nominee = pod("nominee", { requests: half, priority: 1000, nominatedNodeName: "n" });
    const plan = schedule({ nodes, pods: stuck }, { pending: [nominee] });
    expect(plan.unschedulable).toHaveLength(1);
    expect(plan.unschedulable[0]?.nominatedNodeName).toBeUndefined();
  });
});

describe("PriorityClass", () => {
  const classes = [
    { name: "high", value: 1000 },
    { name: "batch", value: -10, preemptionPolicy: "Never" as const },
    { name: "default", value: 100, globalDefault: true },
    { name: "also-default", value: 50, globalDefault: true },
  ];

  it("gives the named class's value and policy", () => {
    expect(resolvePriority(classes, "high")).toEqual({
      priority: 1000,
      preemptionPolicy: "PreemptLowerPriority",
      priorityClassName: "high",
    });
    expect(resolvePriority(classes, "batch")).toEqual({
      priority: -10,
      preemptionPolicy: "Never",
      priorityClassName: "batch",
    });
  });

  it("uses the global default (the lowest value if several), else 0", () => {
    expect(resolvePriority(classes, undefined)).toMatchObject({
      priority: 50,
      priorityClassName: "also-default",
    });
    expect(resolvePriority([], undefined)).toEqual({
      priority: 0,
      preemptionPolicy: "PreemptLowerPriority",
      priorityClassName: undefined,
    });
  });

  it("refuses a class that does not exist, with kube's words", () => {
    expect(resolvePriority(classes, "nope")).toEqual({ error: "no PriorityClass with name nope was found" });
  });
});

describe("PodDisruptionBudget arithmetic", () => {
  it.each([
    { spec: { minAvailable: 2 }, expected: 3, healthy: 3, allowed: 1 },
    { spec: { minAvailable: 3 }, expected: 3, healthy: 3, allowed: 0 },
    { spec: { minAvailable: 3 }, expected: 3, healthy: 2, allowed: 0 },
    { spec: { minAvailable: "50%" as const }, expected: 5, healthy: 5, allowed: 2 },
    { spec: { maxUnavailable: 1 }, expected: 5, healthy: 5, allowed: 1 },
    { spec: { maxUnavailable: 1 }, expected: 5, healthy: 4, allowed: 0 },
    { spec: { maxUnavailable: "30%" as const }, expected: 10, healthy: 10, allowed: 3 },
    { spec: { maxUnavailable: "25%" as const }, expected: 5, healthy: 5, allowed: 2 },
  ])(
    "$spec with $expected expected and $healthy healthy allows $allowed",
    ({ spec, expected, healthy, allowed }) => {
      expect(disruptionsAllowed(spec, expected, healthy)).toBe(allowed);
    },
  );

  it("needs minAvailable or maxUnavailable", () => {
    expect(() => disruptionsAllowed({}, 3, 3)).toThrow(SchedulerInputError);
    expect(() => disruptionsAllowed({ minAvailable: "half" as "1%" }, 3, 3)).toThrow(SchedulerInputError);
  });
});
