import { describe, expect, it } from "vitest";
import { ClusterState } from "../../src/cluster-state";
import { podTopologySpread } from "../../src/plugins/pod-topology-spread";
import type { BoundPod, NodeState, PendingPod, Taint, TopologySpreadConstraint } from "../../src/types";
import { bound, node, pod } from "../fixtures";

const ZONE = "topology.kubernetes.io/zone";
const MISMATCH = "node(s) didn't match pod topology spread constraints";
const web = { app: "web" };

function spread(overrides: Partial<TopologySpreadConstraint> = {}): TopologySpreadConstraint {
  return {
    maxSkew: 1,
    topologyKey: ZONE,
    whenUnsatisfiable: "DoNotSchedule",
    labelSelector: { matchLabels: web },
    ...overrides,
  };
}

/** Zones a and b on general-purpose nodes, zone c on a gpu node (tainted when asked). */
function cluster(cTaints: Taint[] = []): NodeState[] {
  return [
    node("a1", { labels: { [ZONE]: "a", pool: "gen" } }),
    node("b1", { labels: { [ZONE]: "b", pool: "gen" } }),
    node("c1", { labels: { [ZONE]: "c", pool: "gpu" }, taints: cTaints }),
  ];
}

/** One web pod in zone a and one in zone b (of `tenantId`/`namespace`); none in zone c. */
function oneInAandB(extra: Partial<BoundPod> = {}): BoundPod[] {
  return [bound("wa", "a1", { labels: web, ...extra }), bound("wb", "b1", { labels: web, ...extra })];
}

/**
 * The filter's verdict on a1 for each pod in turn, all prepared on one cluster copy, as the
 * pods of one plan are: a later pod reuses the per-domain counts of an earlier one with the same
 * counter key. With zone c counted (0 pods) a1 is one too many; without it, a1 is fine.
 */
function onA1(nodes: NodeState[], pods: BoundPod[], pending: PendingPod[]) {
  const state = new ClusterState({ nodes, pods });
  const a1 = state.nodes.find((i) => i.node.id === "a1");
  return pending.map((p) => {
    const check = podTopologySpread.prepare(p, state);
    return check === null || a1 === undefined ? "skipped" : check(a1);
  });
}

const gen = { key: "pool", operator: "In" as const, values: ["gen"] };
const requiring = (values: string[]) => ({
  nodeAffinity: {
    requiredDuringSchedulingIgnoredDuringExecution: {
      nodeSelectorTerms: [{ matchExpressions: [{ ...gen, values }] }],
    },
  },
});

describe("PodTopologySpread: which nodes count (kube's nodeAffinityPolicy and nodeTaintsPolicy)", () => {
  it("with only a required node affinity (no nodeSelector), nodes it excludes do not count", () => {
    const p = pod("p", { labels: web, affinity: requiring(["gen"]), topologySpreadConstraints: [spread()] });
    expect(onA1(cluster(), oneInAandB(), [p])).toEqual([null]);
  });

  it("with nodeTaintsPolicy Honor, a PreferNoSchedule taint does not leave a node out", () => {
    const prefer: Taint = { key: "gpu", value: "true", effect: "PreferNoSchedule" };
    const p = pod("p", { labels: web, topologySpreadConstraints: [spread({ nodeTaintsPolicy: "Honor" })] });
    expect(onA1(cluster([prefer]), oneInAandB(), [p])).toEqual([MISMATCH]);
  });

  it("with nodeTaintsPolicy Honor, a pod without tolerations tolerates no hard taint, valueless ones included", () => {
    const hard: Taint = { key: "gpu", effect: "NoSchedule" };
    const p = pod("p", { labels: web, topologySpreadConstraints: [spread({ nodeTaintsPolicy: "Honor" })] });
    expect(onA1(cluster([hard]), oneInAandB(), [p])).toEqual([null]);
  });
});

describe("PodTopologySpread: pods of one plan share counts only when they count the same pods on the same nodes", () => {
  it("tells apart a nodeSelector from none", () => {
    const first = pod("p1", {
      labels: web,
      nodeSelector: { pool: "gen" },
      topologySpreadConstraints: [spread()],
    });
    const second = pod("p2", { labels: web, topologySpreadConstraints: [spread()] });
    expect(onA1(cluster(), oneInAandB(), [first, second])).toEqual([null, MISMATCH]);
  });

  it("tells apart two required node affinities", () => {
    const first = pod("p1", {
      labels: web,
      affinity: requiring(["gen"]),
      topologySpreadConstraints: [spread()],
    });
    const second = pod("p2", {
      labels: web,
      affinity: requiring(["gen", "gpu"]),
      topologySpreadConstraints: [spread()],
    });
    expect(onA1(cluster(), oneInAandB(), [first, second])).toEqual([null, MISMATCH]);
  });

  it("with nodeTaintsPolicy Honor, tells apart two sets of tolerations", () => {
    const hard: Taint = { key: "gpu", value: "true", effect: "NoSchedule" };
    const honour = [spread({ nodeTaintsPolicy: "Honor" })];
    const first = pod("p1", {
      labels: web,
      tolerations: [{ key: "other", operator: "Exists" }],
      topologySpreadConstraints: honour,
    });
    const second = pod("p2", {
      labels: web,
      tolerations: [{ key: "gpu", operator: "Exists" }],
      topologySpreadConstraints: honour,
    });
    expect(onA1(cluster([hard]), oneInAandB(), [first, second])).toEqual([null, MISMATCH]);
  });

  it("tells apart tenant and namespace even when their names run together ('ten_a'+'bweb', 'ten_ab'+'web')", () => {
    // ten_a/bweb has two web pods in zone a and one in b and c: its pod may not go to a1.
    const theirs = { tenantId: "ten_a", namespace: "bweb" };
    const pods = [
      ...oneInAandB(theirs),
      bound("wa2", "a1", { labels: web, ...theirs }),
      bound("wc", "c1", { labels: web, ...theirs }),
    ];
    const first = pod("p1", { ...theirs, labels: web, topologySpreadConstraints: [spread()] });
    // ten_ab/web has no pod anywhere: a1 is as good as any node.
    const second = pod("p2", {
      tenantId: "ten_ab",
      namespace: "web",
      labels: web,
      topologySpreadConstraints: [spread()],
    });
    expect(onA1(cluster(), pods, [first, second])).toEqual([MISMATCH, null]);
  });
});
