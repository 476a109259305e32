import { describe, expect, it } from "vitest";
import type { FilterPlugin, ScorePlugin } from "../src/index";
import { SchedulerInputError, schedule } from "../src/index";
import type { PendingPod } from "../src/types";
import { bound, GiB, node, pod } from "./fixtures";

const small = { cpuMillis: 500, memoryBytes: 1 * GiB };
/** Lets everything through, but has no podKey: switches off the failure memo. */
const passThrough: FilterPlugin = { name: "PassThrough", prepare: () => () => null };

describe("schedule", () => {
  it("places a pod on the least allocated node", () => {
    const plan = schedule(
      {
        nodes: [node("busy"), node("idle")],
        pods: [bound("b", "busy", { requests: { cpuMillis: 2000, memoryBytes: 4 * GiB } })],
      },
      { pending: [pod("p")] },
    );
    expect(plan.placements).toEqual([{ podId: "p", nodeId: "idle", hostPorts: [] }]);
  });

  it("breaks score ties by node name, then id", () => {
    const byName = schedule(
      { nodes: [node("n1", { name: "b" }), node("n2", { name: "a" })], pods: [] },
      { pending: [pod("p")] },
    );
    expect(byName.placements[0]?.nodeId).toBe("n2");
    const byId = schedule(
      { nodes: [node("n2", { name: "x" }), node("n1", { name: "x" })], pods: [] },
      { pending: [pod("p")] },
    );
    expect(byId.placements[0]?.nodeId).toBe("n1");
  });

  it("lets later pods see earlier placements, so a one-pod node takes one pod", () => {
    const plan = schedule(
      { nodes: [node("n", { capacity: { cpuMillis: 4000, memoryBytes: 8 * GiB, pods: 1 } })], pods: [] },
      { pending: [pod("first", { createdSeq: 1 }), pod("second", { createdSeq: 2 })] },
    );
    expect(plan.placements.map((p) => p.podId)).toEqual(["first"]);
    expect(plan.unschedulable).toEqual([
      {
        podId: "second",
        reason: "0/1 nodes are available: 1 Too many pods.",
        counts: { "Too many pods": 1 },
      },
    ]);
  });

  it("hands out the lowest free host ports, skipping those bound pods hold", () => {
    const plan = schedule(
      {
        nodes: [node("n", { hostPortRange: { min: 100, max: 105 } })],
        pods: [bound("b", "n", { hostPorts: [100, 102] })],
      },
      {
        pending: [
          pod("two", { hostPortCount: 2, createdSeq: 1 }),
          pod("one", { hostPortCount: 1, createdSeq: 2 }),
        ],
      },
    );
    expect(plan.placements).toEqual([
      { podId: "two", nodeId: "n", hostPorts: [101, 103] },
      { podId: "one", nodeId: "n", hostPorts: [104] },
    ]);
  });

  it("spreads replicas of one owner across nodes", () => {
    const replicas = [1, 2, 3].map((i) => pod(`r${i}`, { ownerId: "dep", createdSeq: i }));
    const plan = schedule(
      { nodes: [node("a"), node("b"), node("c")], pods: [] },
      { pending: replicas },
      { weights: { LeastAllocated: 0, BalancedAllocation: 0 } },
    );
    expect(plan.placements.map((p) => p.nodeId)).toEqual(["a", "b", "c"]);
  });

  it("spreads pods that request nothing instead of piling them onto the first node", () => {
    const zero = { cpuMillis: 0, memoryBytes: 0 };
    const plan = schedule(
      { nodes: [node("a"), node("b"), node("c")], pods: [] },
      { pending: [1, 2, 3].map((i) => pod(`p${i}`, { requests: zero, createdSeq: i })) },
    );
    expect(new Set(plan.placements.map((p) => p.nodeId)).size).toBe(3);
  });

  it("prefers a node without an untolerated PreferNoSchedule taint", () => {
    const plan = schedule(
      { nodes: [node("a", { taints: [{ key: "spot", effect: "PreferNoSchedule" }] }), node("b")], pods: [] },
      { pending: [pod("p")] },
    );
    expect(plan.placements[0]?.nodeId).toBe("b");
  });

  it("does not place anything on a node that is already over-committed", () => {
    const plan = schedule(
      {
        nodes: [node("n", { capacity: { cpuMillis: 1000, memoryBytes: 8 * GiB, pods: 10 } })],
        pods: [bound("b", "n", { requests: { cpuMillis: 1500, memoryBytes: 0 } })],
      },
      { pending: [pod("p", { requests: { cpuMillis: 0, memoryBytes: 0 } })] },
    );
    expect(plan.unschedulable.map((u) => u.reason)).toEqual(["0/1 nodes are available: 1 Insufficient cpu."]);
  });

  it("stops after maxPlacements and defers the rest in scheduling order", () => {
    const pending = [1, 2, 3, 4, 5].map((i) => pod(`p${i}`, { requests: small, createdSeq: i }));
    const plan = schedule({ nodes: [node("n")], pods: [] }, { pending, maxPlacements: 2 });
    expect(plan.placements.map((p) => p.podId)).toEqual(["p1", "p2"]);
    expect(plan.deferred).toEqual(["p3", "p4", "p5"]);
    expect(plan.unschedulable).toEqual([]);
  });

  it("counts only placements against maxPlacements", () => {
    const huge = { cpuMillis: 99_000, memoryBytes: 1 };
    const pending = [
      pod("big", { requests: huge, createdSeq: 1 }),
      pod("p1", { createdSeq: 2 }),
      pod("p2", { createdSeq: 3 }),
    ];
    const plan = schedule({ nodes: [node("n")], pods: [] }, { pending, maxPlacements: 1 });
    expect(plan.unschedulable.map((u) => u.podId)).toEqual(["big"]);
    expect(plan.placements.map((p) => p.podId)).toEqual(["p1"]);
    expect(plan.deferred).toEqual(["p2"]);
  });

  it("defers everything when maxPlacements is 0", () => {
    const plan = schedule({ nodes: [node("n")], pods: [] }, { pending: [pod("p")], maxPlacements: 0 });
    expect(plan).toEqual({ placements: [], preemptions: [], unschedulable: [], deferred: ["p"] });
  });

  it.each<{ name: string; bad: Partial<PendingPod>; reason: string }>([
    {
      name: "negative cpu",
      bad: { requests: { cpuMillis: -1, memoryBytes: 0 } },
      reason: "requests.cpuMillis must be a non-negative integer",
    },
    {
      name: "fractional memory",
      bad: { requests: { cpuMillis: 1, memoryBytes: 0.5 } },
      reason: "requests.memoryBytes must be a non-negative integer",
    },
    { name: "NaN priority", bad: { priority: Number.NaN }, reason: "priority must be a finite number" },
    {
      name: "too many host ports",
      bad: { hostPortCount: 70_000 },
      reason: "hostPortCount must be an integer from 0 to 65536",
    },
  ])("reports a pod with $name as unschedulable and still schedules the others", ({ bad, reason }) => {
    const plan = schedule({ nodes: [node("n")], pods: [] }, { pending: [pod("bad", bad), pod("good")] });
    expect(plan.placements.map((p) => p.podId)).toEqual(["good"]);
    expect(plan.unschedulable).toEqual([{ podId: "bad", reason: `invalid pod spec: ${reason}`, counts: {} }]);
  });

  it("lists invalid pods by id, whatever order they came in, before the pods no node could take", () => {
    const invalid = { priority: Number.NaN };
    const pending = [pod("c", invalid), pod("huge", { requests: { cpuMillis: 1e6, memoryBytes: 0 } })];
    pending.push(pod("a", invalid), pod("b", invalid), pod("a1", invalid));
    const plan = schedule({ nodes: [node("n")], pods: [] }, { pending });
    expect(plan.unschedulable.map((u) => u.podId)).toEqual(["a", "a1", "b", "c", "huge"]);
  });

  it.each([
    {
      name: "duplicate node ids",
      snapshot: { nodes: [node("n"), node("n")], pods: [] },
      pending: [pod("p")],
    },
    {
      name: "duplicate pending pod ids",
      snapshot: { nodes: [node("n")], pods: [] },
      pending: [pod("p"), pod("p")],
    },
    {
      name: "a fractional capacity",
      snapshot: { nodes: [node("n", { capacity: { cpuMillis: 1.5, memoryBytes: 1, pods: 1 } })], pods: [] },
      pending: [],
    },
    {
      name: "a port range beyond 65535",
      snapshot: { nodes: [node("n", { hostPortRange: { min: 65_000, max: 70_000 } })], pods: [] },
      pending: [],
    },
    {
      name: "a bound pod with NaN memory",
      snapshot: {
        nodes: [node("n")],
        pods: [bound("b", "n", { requests: { cpuMillis: 1, memoryBytes: Number.NaN } })],
      },
      pending: [],
    },
  ])("throws SchedulerInputError for a snapshot with $name", ({ snapshot, pending }) => {
    expect(() => schedule(snapshot, { pending })).toThrow(SchedulerInputError);
  });

  it("rejects a negative scorer weight", () => {
    expect(() =>
      schedule({ nodes: [], pods: [] }, { pending: [] }, { weights: { SpreadOwner: -1 } }),
    ).toThrow(/non-negative integer/);
  });

  it("runs extra filters after the built-in ones and counts their reasons", () => {
    const notDraining: FilterPlugin = {
      name: "NotDraining",
      podKey: () => "",
      prepare: () => (info) => (info.node.labels.draining === "true" ? "node(s) were draining" : null),
    };
    const plan = schedule(
      { nodes: [node("a", { labels: { draining: "true" } }), node("b", { ready: false })], pods: [] },
      { pending: [pod("p")] },
      { extraFilters: [notDraining] },
    );
    expect(plan.unschedulable[0]?.reason).toBe(
      "0/2 nodes are available: 1 node(s) not ready, 1 node(s) were draining.",
    );
  });

  it("uses custom scorers in place of the defaults", () => {
    const lastByName: ScorePlugin = { name: "LastByName", weight: 1, prepare: () => (info) => info.index };
    const plan = schedule(
      { nodes: [node("a"), node("b"), node("c")], pods: [] },
      { pending: [pod("p")] },
      { scorers: [lastByName] },
    );
    expect(plan.placements[0]?.nodeId).toBe("c");
  });

  it("gives the reasons a full scan would after placements change a node (failure memo)", () => {
    const nodes = [
      node("a", { capacity: { cpuMillis: 1000, memoryBytes: 8 * GiB, pods: 1 } }),
      node("b", { capacity: { cpuMillis: 1000, memoryBytes: 8 * GiB, pods: 5 } }),
    ];
    const big = { cpuMillis: 2000, memoryBytes: 1 * GiB };
    const pending = [
      pod("big1", { requests: big, priority: 3 }),
      pod("fill", {
        requests: { cpuMillis: 100, memoryBytes: 1 },
        priority: 2,
        nodeSelector: { "kubernetes.io/hostname": "a" },
      }),
      pod("big2", { requests: big, priority: 1 }),
    ];
    nodes[0] = { ...(nodes[0] as (typeof nodes)[0]), labels: { "kubernetes.io/hostname": "a" } };
    const plan = schedule({ nodes, pods: [] }, { pending });
    expect(plan.placements.map((p) => `${p.podId}@${p.nodeId}`)).toEqual(["fill@a"]);
    expect(plan.unschedulable.find((u) => u.podId === "big2")?.counts).toEqual({
      "Insufficient cpu": 2,
      "Too many pods": 1,
    });
    expect(schedule({ nodes, pods: [] }, { pending }, { extraFilters: [passThrough] })).toEqual(plan);
  });

  it("tries a pod that failed before on the nodes that changed since (a custom filter may open a node up)", () => {
    // Only where some pod already runs: a filter whose answer a placement can turn from no to yes.
    const needsCompany: FilterPlugin = {
      name: "NeedsCompany",
      podKey: (p) => String(p.ownerId === "sidecar"),
      prepare: (p) =>
        p.ownerId === "sidecar" ? (info) => (info.podCount > 0 ? null : "node(s) were empty") : null,
    };
    const pending = [
      pod("sidecar1", { ownerId: "sidecar", priority: 3 }),
      pod("app", { priority: 2 }),
      pod("sidecar2", { ownerId: "sidecar", priority: 1 }),
    ];
    const plan = schedule(
      { nodes: [node("a"), node("b")], pods: [] },
      { pending },
      { extraFilters: [needsCompany] },
    );
    expect(plan.unschedulable.map((u) => u.reason)).toEqual([
      "0/2 nodes are available: 2 node(s) were empty.",
    ]);
    expect(plan.placements.map((p) => `${p.podId}@${p.nodeId}`)).toEqual(["app@a", "sidecar2@a"]);
  });

  it("in a large cluster, starts each pod's scan where the previous one stopped (kube's nextStartNodeIndex)", () => {
    const nodes = Array.from({ length: 200 }, (_, i) => node(`n${String(i).padStart(3, "0")}`));
    const indifferent: ScorePlugin = { name: "Indifferent", weight: 1, prepare: () => () => 0 };
    const plan = schedule(
      { nodes, pods: [] },
      { pending: [pod("p1", { createdSeq: 1 }), pod("p2", { createdSeq: 2 })] },
      { scorers: [indifferent] },
    );
    // 200 nodes → find 100 feasible: p1 looks at n000..n099, p2 at n100..n199.
    expect(plan.placements.map((p) => p.nodeId)).toEqual(["n000", "n100"]);
  });

  it("places every pod that fits in a large cluster, sampling or not", () => {
    const nodes = Array.from({ length: 300 }, (_, i) => node(`n${String(i).padStart(3, "0")}`));
    const pending = Array.from({ length: 600 }, (_, i) =>
      pod(`p${i}`, { requests: small, createdSeq: i, ownerId: `d${i % 7}` }),
    );
    const sampled = schedule({ nodes, pods: [] }, { pending });
    const full = schedule({ nodes, pods: [] }, { pending }, { percentageOfNodesToScore: 100 });
    expect(sampled.placements).toHaveLength(600);
    expect(full.placements).toHaveLength(600);
  });
});

describe("constraint specs kube's API would refuse", () => {
  it.each([
    {
      what: "maxSkew 0",
      p: {
        topologySpreadConstraints: [
          { maxSkew: 0, topologyKey: "zone", whenUnsatisfiable: "DoNotSchedule" as const },
        ],
      },
      reason: "invalid pod spec: topologySpreadConstraints[0].maxSkew must be an integer ≥ 1",
    },
    {
      what: "minDomains with ScheduleAnyway",
      p: {
        topologySpreadConstraints: [
          { maxSkew: 1, topologyKey: "zone", whenUnsatisfiable: "ScheduleAnyway" as const, minDomains: 2 },
        ],
      },
      reason:
        "invalid pod spec: topologySpreadConstraints[0].minDomains needs whenUnsatisfiable DoNotSchedule",
    },
    {
      what: "a preferred weight of 101",
      p: {
        affinity: {
          nodeAffinity: {
            preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 101, preference: {} }],
          },
        },
      },
      reason: "invalid pod spec: nodeAffinity preferred term 0: weight must be an integer 1..100",
    },
    {
      what: "an anti-affinity term without topologyKey",
      p: {
        affinity: {
          podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: "" }] },
        },
      },
      reason: "invalid pod spec: pod (anti-)affinity terms need a topologyKey",
    },
  ])("reports $what as an invalid spec", ({ p, reason }) => {
    const plan = schedule({ nodes: [node("n")], pods: [] }, { pending: [pod("p", p)] });
    expect(plan.unschedulable).toEqual([{ podId: "p", reason, counts: {} }]);
  });
});
