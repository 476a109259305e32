import { describe, expect, it } from "vitest";
import { ClusterState, canonicalNodeOrder } from "../src/cluster-state";
import { bound, GiB, node, pod } from "./fixtures";

const ports = (min: number, max: number) => ({ hostPortRange: { min, max } });

describe("cluster state", () => {
  it("orders nodes by name, then id, by code unit", () => {
    const nodes = [
      node("n3", { name: "b" }),
      node("n2", { name: "a" }),
      node("n1", { name: "b" }),
      node("n0", { name: "B" }),
    ];
    expect(canonicalNodeOrder(nodes).map((n) => n.id)).toEqual(["n0", "n2", "n1", "n3"]);
    expect(new ClusterState({ nodes, pods: [] }).nodes.map((i) => [i.index, i.node.id])).toEqual([
      [0, "n0"],
      [1, "n2"],
      [2, "n1"],
      [3, "n3"],
    ]);
  });

  it("finds a node by name, the first in canonical order when two share it", () => {
    const cluster = new ClusterState({
      nodes: [node("z", { name: "x" }), node("y", { name: "x" })],
      pods: [],
    });
    expect(cluster.nodeNamed("x")).toBe(0);
    expect(cluster.nodeId(0)).toBe("y");
    expect(cluster.nodeNamed("nope")).toBeUndefined();
    expect(() => cluster.nodeId(2)).toThrow("no node at index 2");
  });

  it("counts bound pods' requests, with non-zero defaults for scoring, and ignores pods on unknown nodes", () => {
    const cluster = new ClusterState({
      nodes: [node("n")],
      pods: [
        bound("b1", "n", { requests: { cpuMillis: 300, memoryBytes: 0, extended: { gpu: 2, fpga: 0 } } }),
        bound("b2", "n", { requests: { cpuMillis: 0, memoryBytes: 1 * GiB } }),
        bound("gone", "elsewhere", { requests: { cpuMillis: 999, memoryBytes: 999 } }),
      ],
    });
    const info = cluster.nodes[0];
    expect({
      cpu: info?.requestedCpu,
      memory: info?.requestedMemory,
      nonZeroCpu: info?.nonZeroCpu,
      nonZeroMemory: info?.nonZeroMemory,
      pods: info?.podCount,
      extended: Object.fromEntries(info?.requestedExtended ?? []),
    }).toEqual({
      cpu: 300,
      memory: 1 * GiB,
      nonZeroCpu: 400,
      nonZeroMemory: 200 * 1024 * 1024 + 1 * GiB,
      pods: 2,
      extended: { gpu: 2 },
    });
    expect(
      cluster.boundPodsOn(0).map((p) => [p.id, p.priority, p.startedSeq, p.terminating, p.bound]),
    ).toEqual([
      ["b1", 0, 0, false, true],
      ["b2", 0, 0, false, true],
    ]);
  });

  it("counts free ports: the range, less ports held or reserved inside it, each once", () => {
    const cluster = new ClusterState({
      nodes: [
        node("n", { ...ports(100, 109), reservedHostPorts: [99, 100, 100, 105, 110] }),
        node("empty", ports(10, 9)),
        node("one", ports(7, 7)),
      ],
      pods: [bound("b", "n", { hostPorts: [105, 106, 200] })],
    });
    const [empty, n, one] = cluster.nodes;
    expect([n?.freePorts, n?.reservedPorts]).toEqual([7, 2]);
    expect([empty?.freePorts, one?.freePorts]).toEqual([0, 1]);
  });

  it("hands out the lowest free ports, and refuses more than are free", () => {
    const cluster = new ClusterState({
      nodes: [node("n", { ...ports(100, 105), reservedHostPorts: [101] })],
      pods: [bound("b", "n", { hostPorts: [103] })],
    });
    expect(cluster.place(pod("p1", { hostPortCount: 2 }), 0)).toEqual([100, 102]);
    expect(cluster.place(pod("p2", { hostPortCount: 0 }), 0)).toEqual([]);
    expect(cluster.place(pod("p3", { hostPortCount: 1 }), 0)).toEqual([104]);
    expect(cluster.nodes[0]?.freePorts).toBe(1);
    expect(() => cluster.place(pod("p4", { hostPortCount: 2 }), 0)).toThrow("node n has 1 free ports, not 2");
  });

  it("holds a node for a nominated pod and gives it all back, each change a new version", () => {
    const cluster = new ClusterState({ nodes: [node("a"), node("n", ports(1, 5))], pods: [] });
    const before = { ...cluster.nodes[1] };
    const held = cluster.nominate(
      pod("p", { hostPortCount: 2, requests: { cpuMillis: 0, memoryBytes: 5 } }),
      1,
    );
    const info = cluster.nodes[1];
    expect([
      info?.requestedCpu,
      info?.nonZeroCpu,
      info?.requestedMemory,
      info?.podCount,
      info?.freePorts,
    ]).toEqual([0, 100, 5, 1, 3]);
    expect([...cluster.versions]).toEqual([0, 1]);
    cluster.release(held);
    expect({ ...cluster.nodes[1] }).toEqual(before);
    expect([...cluster.versions]).toEqual([0, 2]);
    expect(cluster.placementLog).toEqual([1, 1]);
  });

  it("takes a bound pod away and puts it back, ports included", () => {
    const cluster = new ClusterState({
      nodes: [node("n", ports(1, 3))],
      pods: [bound("b", "n", { hostPorts: [2], ownerId: "dep" })],
    });
    const [record] = cluster.boundPodsOn(0);
    if (!record) throw new Error("no bound pod");
    const owner = pod("q", { ownerId: "dep" });
    cluster.toggle(record, -1);
    expect([cluster.nodes[0]?.freePorts, cluster.nodes[0]?.podCount]).toEqual([3, 0]);
    expect(cluster.ownerPods(owner)?.size).toBe(0);
    expect(cluster.ownerPodsByNode(owner)).toBeUndefined();
    cluster.toggle(record, 1);
    expect([cluster.nodes[0]?.freePorts, cluster.nodes[0]?.podCount]).toEqual([2, 1]);
    expect([...(cluster.ownerPods(owner) ?? [])]).toEqual([[0, 1]]);
  });

  it("counts an owner's pods per node, by tenant, namespace and owner, in a buffer cleared between owners", () => {
    const cluster = new ClusterState({
      nodes: [node("a"), node("b"), node("c")],
      pods: [
        bound("x1", "a", { ownerId: "x" }),
        bound("x2", "a", { ownerId: "x" }),
        bound("x3", "c", { ownerId: "x" }),
        bound("y1", "b", { ownerId: "y" }),
        bound("other-ns", "b", { ownerId: "x", namespace: "prod" }),
        bound("other-tenant", "b", { ownerId: "x", tenantId: "ten_b" }),
      ],
    });
    expect([...(cluster.ownerPodsByNode(pod("p", { ownerId: "x" })) ?? [])]).toEqual([2, 0, 1]);
    expect([...(cluster.ownerPodsByNode(pod("p", { ownerId: "y" })) ?? [])]).toEqual([0, 1, 0]);
    expect(cluster.ownerPodsByNode(pod("p", { ownerId: "z" }))).toBeUndefined();
    expect(cluster.ownerPodsByNode(pod("p"))).toBeUndefined();
    cluster.place(pod("p", { ownerId: "y" }), 2);
    expect([...(cluster.ownerPodsByNode(pod("p", { ownerId: "y" })) ?? [])]).toEqual([0, 1, 1]);
  });

  it("knows which taint effects any node carries", () => {
    const cluster = new ClusterState({
      nodes: [node("a", { taints: [{ key: "k", effect: "PreferNoSchedule" }] }), node("b")],
      pods: [],
    });
    expect(cluster.hasTaintEffect("PreferNoSchedule")).toBe(true);
    expect(cluster.hasTaintEffect("NoSchedule")).toBe(false);
  });

  it("gives each node's topology value, its name for the hostname key unless labelled", () => {
    const cluster = new ClusterState({
      nodes: [
        node("a", { labels: { zone: "z1" } }),
        node("b", { labels: { "kubernetes.io/hostname": "host-b" } }),
      ],
      pods: [],
    });
    expect(cluster.domainValues("zone")).toEqual(["z1", undefined]);
    expect(cluster.domainValues("kubernetes.io/hostname")).toEqual(["a", "host-b"]);
  });
});
