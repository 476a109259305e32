import { describe, expect, it } from "vitest";
import { schedule } from "../../src/index";
import { podTopologySpread } from "../../src/plugins/pod-topology-spread";
import { podTopologySpreadScore } from "../../src/plugins/pod-topology-spread-score";
import type { BoundPod, NodeState, TopologySpreadConstraint } from "../../src/types";
import { bound, node, pod, scores, verdict } from "../fixtures";

const ZONE = "topology.kubernetes.io/zone";
const MISMATCH = "node(s) didn't match pod topology spread constraints";
const MISSING = "node(s) didn't match pod topology spread constraints (missing required label)";
const web = { app: "web" };

function zoned(id: string, zone: string | undefined, extra: Record<string, string> = {}): NodeState {
  return node(id, { labels: { ...(zone ? { [ZONE]: zone } : {}), ...extra } });
}

function spread(overrides: Partial<TopologySpreadConstraint> = {}): TopologySpreadConstraint {
  return {
    maxSkew: 1,
    topologyKey: ZONE,
    whenUnsatisfiable: "DoNotSchedule",
    labelSelector: { matchLabels: web },
    ...overrides,
  };
}

function webPods(counts: Record<string, number>): BoundPod[] {
  return Object.entries(counts).flatMap(([nodeId, n]) =>
    Array.from({ length: n }, (_, i) => bound(`${nodeId}-${i}`, nodeId, { labels: web })),
  );
}

const nodes = [zoned("a1", "a"), zoned("b1", "b"), zoned("c1", "c")];

describe("PodTopologySpread filter", () => {
  it("has nothing to say without DoNotSchedule constraints", () => {
    const p = pod("p", {
      labels: web,
      topologySpreadConstraints: [spread({ whenUnsatisfiable: "ScheduleAnyway" })],
    });
    expect(verdict(podTopologySpread, p, nodes[0] as NodeState)).toBe("skipped");
  });

  it.each([
    // counts a/b/c; the pod matches itself, so skew = count + 1 − min.
    {
      name: "skew exactly maxSkew is allowed",
      counts: { a1: 1, b1: 1, c1: 1 },
      target: "a1",
      expected: null,
    },
    { name: "skew maxSkew + 1 is not", counts: { a1: 1, b1: 0, c1: 1 }, target: "a1", expected: MISMATCH },
    {
      name: "the emptiest domain is always allowed",
      counts: { a1: 3, b1: 0, c1: 2 },
      target: "b1",
      expected: null,
    },
  ])("$name", ({ counts, target, expected }) => {
    const p = pod("p", { labels: web, topologySpreadConstraints: [spread()] });
    const n = nodes.find((x) => x.id === target) as NodeState;
    expect(
      verdict(
        podTopologySpread,
        p,
        n,
        webPods(counts),
        nodes.filter((x) => x !== n),
      ),
    ).toBe(expected);
  });

  it("does not count the pod itself when it does not match its own selector", () => {
    const p = pod("p", { labels: { app: "other" }, topologySpreadConstraints: [spread()] });
    expect(verdict(podTopologySpread, p, nodes[0] as NodeState, webPods({ a1: 1 }), nodes.slice(1))).toBe(
      null,
    );
    expect(verdict(podTopologySpread, p, nodes[0] as NodeState, webPods({ a1: 2 }), nodes.slice(1))).toBe(
      MISMATCH,
    );
  });

  it("rejects a node without the topology key as missing the label", () => {
    const p = pod("p", { labels: web, topologySpreadConstraints: [spread()] });
    expect(verdict(podTopologySpread, p, zoned("x", undefined), [], nodes)).toBe(MISSING);
  });

  it("counts the global minimum as 0 while there are fewer domains than minDomains", () => {
    const two = [zoned("a1", "a"), zoned("b1", "b")];
    const counts = webPods({ a1: 1, b1: 1 });
    const without = pod("p", { labels: web, topologySpreadConstraints: [spread()] });
    const withMin = pod("p", { labels: web, topologySpreadConstraints: [spread({ minDomains: 3 })] });
    expect(verdict(podTopologySpread, without, two[0] as NodeState, counts, two.slice(1))).toBe(null);
    expect(verdict(podTopologySpread, withMin, two[0] as NodeState, counts, two.slice(1))).toBe(MISMATCH);
  });

  it("with nodeAffinityPolicy Honor counts only nodes the pod may go to; with Ignore, all", () => {
    // Zone c holds no web pod but only a gpu node the pod's selector excludes.
    const ns = [
      zoned("a1", "a", { pool: "gen" }),
      zoned("b1", "b", { pool: "gen" }),
      zoned("c1", "c", { pool: "gpu" }),
    ];
    const counts = webPods({ a1: 1, b1: 1 });
    const honour = pod("p", {
      labels: web,
      nodeSelector: { pool: "gen" },
      topologySpreadConstraints: [spread()],
    });
    const ignore = pod("p", {
      labels: web,
      nodeSelector: { pool: "gen" },
      topologySpreadConstraints: [spread({ nodeAffinityPolicy: "Ignore" })],
    });
    expect(verdict(podTopologySpread, honour, ns[0] as NodeState, counts, ns.slice(1))).toBe(null);
    expect(verdict(podTopologySpread, ignore, ns[0] as NodeState, counts, ns.slice(1))).toBe(MISMATCH);
  });

  it("counts only pods of the same tenant and namespace, and not those being deleted", () => {
    const p = pod("p", { labels: web, topologySpreadConstraints: [spread()] });
    const others = [
      bound("t", "a1", { labels: web, tenantId: "ten_other" }),
      bound("n", "a1", { labels: web, namespace: "other" }),
      bound("d", "a1", { labels: web, terminating: true }),
    ];
    expect(verdict(podTopologySpread, p, nodes[0] as NodeState, others, nodes.slice(1))).toBe(null);
  });

  it("keeps replicas within maxSkew across zones in a plan", () => {
    const ns = [zoned("a1", "a"), zoned("a2", "a"), zoned("a3", "a"), zoned("b1", "b"), zoned("c1", "c")];
    const replicas = Array.from({ length: 9 }, (_, i) =>
      pod(`r${i}`, { labels: web, createdSeq: i, topologySpreadConstraints: [spread()] }),
    );
    // Without the constraint, LeastAllocated would put 5 of 9 in zone a (3 of the 5 nodes).
    const plan = schedule({ nodes: ns, pods: [] }, { pending: replicas });
    const perZone: Record<string, number> = {};
    for (const p of plan.placements) {
      const zone = ns.find((n) => n.id === p.nodeId)?.labels[ZONE] as string;
      perZone[zone] = (perZone[zone] ?? 0) + 1;
    }
    expect(perZone).toEqual({ a: 3, b: 3, c: 3 });
  });
});

describe("PodTopologySpread scorer", () => {
  it("prefers the domain with fewer matching pods; nodes without the key score 0", () => {
    const ns = [...nodes, zoned("x", undefined)];
    const p = pod("p", {
      labels: web,
      topologySpreadConstraints: [spread({ whenUnsatisfiable: "ScheduleAnyway" })],
    });
    const result = scores(podTopologySpreadScore, p, ns, webPods({ a1: 2, b1: 1 })) as number[];
    // Canonical order a1, b1, c1, x.
    expect(result[3]).toBe(0);
    expect(result[2]).toBe(100);
    expect(result[0]).toBeLessThan(result[1] as number);
    expect(result[1]).toBeLessThan(result[2] as number);
  });
});

describe("PodTopologySpread: which nodes' domains count", () => {
  const ns = [
    zoned("a1", "a", { pool: "gen" }),
    zoned("b1", "b", { pool: "gen" }),
    node("c1", {
      labels: { [ZONE]: "c", pool: "gpu" },
      taints: [{ key: "gpu", value: "true", effect: "NoSchedule" }],
    }),
  ];
  const counts = webPods({ a1: 2, b1: 1 });
  const on = (p: ReturnType<typeof pod>, id: string) =>
    verdict(
      podTopologySpread,
      p,
      ns.find((n) => n.id === id) as NodeState,
      counts,
      ns.filter((n) => n.id !== id),
    );

  it("with nodeAffinityPolicy Honor, only nodes matching the pod's nodeSelector (zone c is left out)", () => {
    const honour = pod("p", {
      labels: web,
      nodeSelector: { pool: "gen" },
      topologySpreadConstraints: [spread()],
    });
    // Domains a (2) and b (1): the minimum is 1.
    expect([on(honour, "a1"), on(honour, "b1")]).toEqual([MISMATCH, null]);
    const ignore = pod("p", {
      labels: web,
      nodeSelector: { pool: "gen" },
      topologySpreadConstraints: [spread({ nodeAffinityPolicy: "Ignore" })],
    });
    // Zone c counts with 0 pods.
    expect([on(ignore, "a1"), on(ignore, "b1")]).toEqual([MISMATCH, MISMATCH]);
  });

  it("with a required node affinity as well as a nodeSelector, a node must match both", () => {
    const p = pod("p", {
      labels: web,
      nodeSelector: { pool: "gen" },
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [{ matchExpressions: [{ key: ZONE, operator: "In", values: ["a", "c"] }] }],
          },
        },
      },
      topologySpreadConstraints: [spread()],
    });
    // Only a1 is eligible: domain a alone, minimum 2.
    expect(on(p, "a1")).toBe(null);
  });

  it("with nodeTaintsPolicy Honor, only nodes whose hard taints the pod tolerates", () => {
    const p = (
      policy: "Honor" | "Ignore" | undefined,
      tolerations = [] as { key: string; operator: "Exists" }[],
    ) =>
      pod("p", {
        labels: web,
        tolerations,
        topologySpreadConstraints: [spread(policy ? { nodeTaintsPolicy: policy } : {})],
      });
    expect([on(p("Honor"), "a1"), on(p("Honor"), "b1")]).toEqual([MISMATCH, null]);
    expect([on(p(undefined), "b1"), on(p("Ignore"), "b1")]).toEqual([MISMATCH, MISMATCH]);
    const tolerant = p("Honor", [{ key: "gpu", operator: "Exists" }]);
    expect(on(tolerant, "b1")).toBe(MISMATCH);
  });
});
