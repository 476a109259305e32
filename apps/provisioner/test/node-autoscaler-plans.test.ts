import type { BoundPod, NodeState, PendingPod } from "@berth/scheduler";
import { describe, expect, it } from "vitest";
import { type DownCandidate, planScaleDown } from "../src/controllers/node-autoscaler/scale-down";
import { type PoolGroup, planScaleUp } from "../src/controllers/node-autoscaler/scale-up";

/**
 * The node autoscaler's decisions, pure: which pool grows by how many nodes for the pods no node
 * fits, and which nodes the cluster can give back. The real scheduler makes every estimate.
 */
const GiB = 1024 ** 3;
const T = "tenant-1";

function pod(
  id: string,
  cpuMillis: number,
  memoryBytes: number,
  extra: Partial<PendingPod> = {},
): PendingPod {
  return {
    id,
    tenantId: T,
    namespace: "default",
    ownerId: "deploy-web",
    requests: { cpuMillis, memoryBytes },
    hostPortCount: 0,
    priority: 0,
    createdSeq: Number(id.replace(/\D/g, "")) || 0,
    ...extra,
  };
}

const pods = (n: number, cpuMillis: number, memoryBytes: number) =>
  Array.from({ length: n }, (_, i) => pod(`p${i + 1}`, cpuMillis, memoryBytes));

function group(
  name: string,
  cpuMillis: number,
  memoryBytes: number,
  extra: Partial<PoolGroup> = {},
): PoolGroup {
  return {
    id: `pool-${name}`,
    name,
    template: {
      ready: true,
      unschedulable: false,
      capacity: { cpuMillis, memoryBytes, pods: 110 },
      labels: { "berth.io/pool": name },
      taints: [],
      hostPortRange: { min: 30000, max: 32767 },
    },
    desired: 0,
    max: 10,
    upcoming: 0,
    priority: 0,
    ...extra,
  };
}

const small = (extra: Partial<PoolGroup> = {}) => group("small", 2000, 4 * GiB, extra);
const large = (extra: Partial<PoolGroup> = {}) => group("large", 8000, 16 * GiB, { max: 5, ...extra });
const empty = { nodes: [], pods: [] };

describe("scale-up", () => {
  it("grows the pool that wastes least by exactly the nodes the pods need", () => {
    const plan = planScaleUp({
      snapshot: empty,
      pending: pods(20, 1500, GiB),
      groups: [small(), large()],
      expander: "least-waste",
    });
    // small: 1 pod a node, 10 nodes at most for 10 pods, waste 0.25 + 0.75; large: 5 a node, 4 nodes.
    expect(plan.scaleUps).toEqual([
      {
        poolId: "pool-large",
        from: 0,
        to: 4,
        podIds: expect.arrayContaining(pods(20, 0, 0).map((p) => p.id)),
        waste: 2000 / 32000 + 44 / 64,
      },
    ]);
    expect(plan.scaleUps[0]?.podIds).toHaveLength(20);
    expect(plan.notTriggered).toEqual([]);
    expect(plan.waiting).toEqual([]);
  });

  it("counts nodes on their way: pods that fit on them wait, and nothing more is added", () => {
    const plan = planScaleUp({
      snapshot: empty,
      pending: pods(20, 1500, GiB),
      groups: [small(), large({ desired: 4, upcoming: 4 })],
      expander: "least-waste",
    });
    expect(plan.scaleUps).toEqual([]);
    expect(plan.waiting).toHaveLength(20);
  });

  it("adds only what the nodes on their way leave over", () => {
    const plan = planScaleUp({
      snapshot: empty,
      pending: pods(12, 1500, GiB),
      groups: [large({ desired: 2, upcoming: 2 })],
      expander: "least-waste",
    });
    expect(plan.scaleUps.map((s) => [s.poolId, s.from, s.to, s.podIds.length])).toEqual([
      ["pool-large", 2, 3, 2],
    ]);
    expect(plan.waiting).toHaveLength(10);
  });

  it("with the priority expander takes the highest-priority pool first, then the next for what is left", () => {
    const plan = planScaleUp({
      snapshot: empty,
      pending: pods(20, 1500, GiB),
      groups: [small({ priority: 10 }), large()],
      expander: "priority",
    });
    expect(plan.scaleUps.map((s) => [s.poolId, s.from, s.to, s.podIds.length])).toEqual([
      ["pool-small", 0, 10, 10],
      ["pool-large", 0, 2, 10],
    ]);
  });

  it("says for each pool why a pod did not make it grow", () => {
    const plan = planScaleUp({
      snapshot: empty,
      pending: [pod("p1", 500, GiB, { nodeSelector: { disk: "ssd" } }), pod("p2", 16_000, GiB)],
      groups: [
        small(),
        large({ desired: 5 }),
        group("mine", 2000, 4 * GiB, { blocked: "a byo pool: its machines are yours, Berth cannot add one" }),
      ],
      expander: "least-waste",
    });
    expect(plan.scaleUps).toEqual([]);
    const reasons = new Map(plan.notTriggered.map((n) => [n.podId, n.reason]));
    expect(reasons.get("p1")).toMatch(/^small: node\(s\) didn't match node selector/);
    expect(reasons.get("p1")).toContain("large: max size reached (5)");
    expect(reasons.get("p1")).toContain("mine: a byo pool: its machines are yours, Berth cannot add one");
    expect(reasons.get("p2")).toMatch(/^small: Insufficient cpu/);
  });

  it("grows only a pool whose nodes offer what a pod asks for (a GPU)", () => {
    const gpu = group("gpu", 4000, 16 * GiB, { max: 2 });
    gpu.template.capacity.extended = { "berth.dev/gpu": 1 };
    const plan = planScaleUp({
      snapshot: empty,
      pending: [
        pod("p1", 500, GiB, {
          requests: { cpuMillis: 500, memoryBytes: GiB, extended: { "berth.dev/gpu": 1 } },
        }),
      ],
      groups: [small(), large(), gpu],
      expander: "least-waste",
    });
    expect(plan.scaleUps.map((s) => [s.poolId, s.to])).toEqual([["pool-gpu", 1]]);
  });
});

function node(id: string, cpuMillis = 8000, memoryBytes = 16 * GiB): NodeState {
  return {
    id,
    name: id,
    ready: true,
    unschedulable: false,
    capacity: { cpuMillis, memoryBytes, pods: 110 },
    labels: { "kubernetes.io/hostname": id },
    taints: [],
    hostPortRange: { min: 30000, max: 32767 },
  };
}

function bound(id: string, nodeId: string, cpuMillis: number, extra: Partial<BoundPod> = {}): BoundPod {
  return {
    id,
    nodeId,
    requests: { cpuMillis, memoryBytes: GiB },
    hostPorts: [],
    tenantId: T,
    namespace: "default",
    ownerId: "deploy-web",
    ...extra,
  };
}

const long = new Date("2026-01-01T00:00:00Z");
const now = new Date("2026-01-01T01:00:00Z");
const candidate = (nodeId: string, since: Date | null = long): DownCandidate => ({
  nodeId,
  poolId: "pool-large",
  unneededSince: since,
});

function down(
  nodes: NodeState[],
  boundPods: BoundPod[],
  candidates: DownCandidate[],
  extra: Partial<Parameters<typeof planScaleDown>[0]> = {},
) {
  const byId = new Map(boundPods.map((p) => [p.id, p]));
  return planScaleDown({
    snapshot: { nodes, pods: boundPods },
    candidates,
    asPending: (id) => {
      const p = byId.get(id);
      return p ? pod(p.id, p.requests.cpuMillis, p.requests.memoryBytes) : undefined;
    },
    blockers: new Map(),
    pools: new Map([["pool-large", { name: "large", desired: nodes.length, min: 0 }]]),
    threshold: 0.5,
    unneededMs: 600_000,
    now,
    mayRemove: true,
    ...extra,
  });
}

describe("scale-down", () => {
  it("finds a lightly used node unneeded when its pods fit on the nodes that stay, and removes it", () => {
    const plan = down(
      [node("a"), node("b")],
      [bound("x1", "a", 1000), bound("y1", "b", 3000)],
      [candidate("a"), candidate("b")],
    );
    // a (12.5 %) moves to b; b (37.5 %) then has nowhere to go.
    expect(plan.unneeded).toEqual(["a"]);
    expect(plan.needed).toEqual([
      { nodeId: "b", reason: expect.stringMatching(/^pod (x1|y1) would have nowhere to go/) },
    ]);
    expect(plan.remove).toEqual([{ nodeId: "a", poolId: "pool-large", pods: 1 }]);
  });

  it("keeps a node whose pods request the threshold or more", () => {
    const plan = down([node("a"), node("b")], [bound("x1", "a", 4000)], [candidate("a")]);
    expect(plan.needed).toEqual([{ nodeId: "a", reason: "its pods request 50% of it, not under 50%" }]);
    expect(plan.remove).toEqual([]);
  });

  it("keeps a node with a pod that may not move, and says which", () => {
    const plan = down([node("a"), node("b")], [bound("x1", "a", 500)], [candidate("a")], {
      blockers: new Map([["x1", "no controller would recreate it (a bare pod)"]]),
    });
    expect(plan.needed).toEqual([
      { nodeId: "a", reason: "pod x1 cannot move: no controller would recreate it (a bare pod)" },
    ]);
  });

  it("waits out the unneeded time and the cool-down after a scale-up, and never goes below the minimum", () => {
    const nodes = [node("a"), node("b"), node("c")];
    const fresh = down(nodes, [], [candidate("a", new Date(now.getTime() - 599_000))]);
    expect(fresh.unneeded).toEqual(["a"]);
    expect(fresh.remove).toEqual([]);
    expect(down(nodes, [], [candidate("a")], { mayRemove: false }).remove).toEqual([]);
    const floor = down(nodes, [], [candidate("a"), candidate("b"), candidate("c")], {
      pools: new Map([["pool-large", { name: "large", desired: 3, min: 1 }]]),
    });
    expect(floor.unneeded).toEqual(["a", "b", "c"]);
    expect(floor.remove.map((r) => r.nodeId)).toEqual(["a", "b"]);
  });

  it("removes every empty node at once but only one that still has pods", () => {
    const plan = down(
      [node("a"), node("b"), node("c"), node("d"), node("e")],
      [bound("x1", "c", 500), bound("x2", "d", 600), bound("big", "e", 3500)],
      ["a", "b", "c", "d"].map((id) => candidate(id)),
    );
    expect(plan.unneeded).toEqual(["a", "b", "c", "d"]);
    expect(plan.remove.map((r) => [r.nodeId, r.pods])).toEqual([
      ["a", 0],
      ["b", 0],
      ["c", 1],
    ]);
  });
});
