import { describe, expect, it } from "vitest";
import { schedule } from "../../src/index";
import { interPodAffinity } from "../../src/plugins/inter-pod-affinity";
import { interPodAffinityScore } from "../../src/plugins/inter-pod-affinity-score";
import type { NodeState, PodAffinityTerm } from "../../src/types";
import { bound, node, pod, scores, verdict } from "../fixtures";

const ZONE = "topology.kubernetes.io/zone";
const HOST = "kubernetes.io/hostname";
const EXISTING = "node(s) didn't satisfy existing pods anti-affinity rules";
const AFFINITY = "node(s) didn't match pod affinity rules";
const ANTI = "node(s) didn't match pod anti-affinity rules";

const nodes = [
  node("a1", { labels: { [ZONE]: "a" } }),
  node("a2", { labels: { [ZONE]: "a" } }),
  node("b1", { labels: { [ZONE]: "b" } }),
  node("x"), // no zone
];
const at = (id: string) => nodes.find((n) => n.id === id) as NodeState;
const others = (id: string) => nodes.filter((n) => n.id !== id);

function term(app: string, topologyKey: string, extra: Partial<PodAffinityTerm> = {}): PodAffinityTerm {
  return { labelSelector: { matchLabels: { app } }, topologyKey, ...extra };
}

const cache = bound("cache", "a1", { labels: { app: "cache" } });

describe("InterPodAffinity filter: required affinity", () => {
  const wantsCacheZone = pod("p", {
    labels: { app: "web" },
    affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term("cache", ZONE)] } },
  });

  it.each([
    { name: "same node as the match", nodeId: "a1", expected: null },
    { name: "another node of the match's zone", nodeId: "a2", expected: null },
    { name: "another zone", nodeId: "b1", expected: AFFINITY },
    { name: "a node without the topology key", nodeId: "x", expected: AFFINITY },
  ])("$name → $expected", ({ nodeId, expected }) => {
    expect(verdict(interPodAffinity, wantsCacheZone, at(nodeId), [cache], others(nodeId))).toBe(expected);
  });

  it("lets the first pod of a group that matches its own terms go anywhere with the key", () => {
    const first = pod("p", {
      labels: { app: "cache" },
      affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term("cache", ZONE)] } },
    });
    expect(verdict(interPodAffinity, first, at("b1"), [], others("b1"))).toBe(null);
    expect(verdict(interPodAffinity, first, at("x"), [], others("x"))).toBe(AFFINITY);
    // Not when it does not match itself.
    expect(verdict(interPodAffinity, wantsCacheZone, at("b1"), [], others("b1"))).toBe(AFFINITY);
  });

  it("looks in the pod's own namespace unless told otherwise", () => {
    const elsewhere = bound("c", "a1", { labels: { app: "cache" }, namespace: "infra" });
    expect(verdict(interPodAffinity, wantsCacheZone, at("a1"), [elsewhere], others("a1"))).toBe(AFFINITY);
    const named = pod("p", {
      affinity: {
        podAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: [term("cache", ZONE, { namespaces: ["infra"] })],
        },
      },
    });
    expect(verdict(interPodAffinity, named, at("a1"), [elsewhere], others("a1"))).toBe(null);
  });

  it("selects namespaces by label with namespaceSelector, and every namespace with {}", () => {
    const elsewhere = bound("c", "a1", { labels: { app: "cache" }, namespace: "infra" });
    const bySelector = (namespaceSelector: PodAffinityTerm["namespaceSelector"]) =>
      pod("p", {
        affinity: {
          podAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: [term("cache", ZONE, { namespaceSelector })],
          },
        },
      });
    const snapshotNamespaces = [{ tenantId: "ten_a", name: "infra", labels: { team: "platform" } }];
    const cluster = (p: ReturnType<typeof bySelector>) =>
      schedule({ nodes: [at("a1")], pods: [elsewhere], namespaces: snapshotNamespaces }, { pending: [p] })
        .placements.length;
    expect(cluster(bySelector({ matchLabels: { team: "platform" } }))).toBe(1);
    expect(cluster(bySelector({ matchLabels: { team: "other" } }))).toBe(0);
    expect(cluster(bySelector({}))).toBe(1);
  });

  it("never matches another tenant's pods", () => {
    const theirs = bound("c", "a1", { labels: { app: "cache" }, tenantId: "ten_b" });
    expect(verdict(interPodAffinity, wantsCacheZone, at("a1"), [theirs], others("a1"))).toBe(AFFINITY);
  });
});

describe("InterPodAffinity filter: anti-affinity", () => {
  const lonely = pod("p", {
    labels: { app: "web" },
    affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term("web", HOST)] } },
  });
  const web = bound("w", "a1", { labels: { app: "web" } });

  it("keeps the pod off a node holding a pod its term selects, by hostname", () => {
    expect(verdict(interPodAffinity, lonely, at("a1"), [web], others("a1"))).toBe(ANTI);
    expect(verdict(interPodAffinity, lonely, at("a2"), [web], others("a2"))).toBe(null);
  });

  it("ignores a node without the topology key", () => {
    const byZone = pod("p", {
      affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term("web", ZONE)] } },
    });
    const onX = bound("w", "x", { labels: { app: "web" } });
    expect(verdict(interPodAffinity, byZone, at("x"), [onX], others("x"))).toBe(null);
    expect(verdict(interPodAffinity, byZone, at("a2"), [web], others("a2"))).toBe(ANTI);
  });

  it("honours the anti-affinity of pods already there (symmetry)", () => {
    const guard = bound("g", "a1", {
      labels: { app: "db" },
      affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term("web", ZONE)] } },
    });
    const plain = pod("p", { labels: { app: "web" } });
    expect(verdict(interPodAffinity, plain, at("a2"), [guard], others("a2"))).toBe(EXISTING);
    expect(verdict(interPodAffinity, plain, at("b1"), [guard], others("b1"))).toBe(null);
    expect(
      verdict(interPodAffinity, pod("q", { labels: { app: "api" } }), at("a2"), [guard], others("a2")),
    ).toBe("skipped");
  });

  it("spreads replicas with hostname anti-affinity one per node, and reports the rest", () => {
    const replicas = [0, 1, 2, 3, 4].map((i) =>
      pod(`r${i}`, {
        labels: { app: "web" },
        createdSeq: i,
        affinity: {
          podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term("web", HOST)] },
        },
      }),
    );
    const plan = schedule({ nodes, pods: [] }, { pending: replicas });
    expect(new Set(plan.placements.map((p) => p.nodeId)).size).toBe(4);
    // The placed replicas carry the term too, and kube checks theirs first.
    expect(plan.unschedulable).toEqual([
      { podId: "r4", reason: `0/4 nodes are available: 4 ${EXISTING}.`, counts: { [EXISTING]: 4 } },
    ]);
  });
});

describe("InterPodAffinity scorer", () => {
  it("adds weight per selected pod in the domain for affinity, subtracts for anti-affinity, then min-max", () => {
    const p = pod("p", {
      affinity: {
        podAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [
            { weight: 10, podAffinityTerm: term("cache", ZONE) },
          ],
        },
        podAntiAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [
            { weight: 5, podAffinityTerm: term("web", HOST) },
          ],
        },
      },
    });
    const pods = [
      cache,
      bound("w1", "a2", { labels: { app: "web" } }),
      bound("w2", "a2", { labels: { app: "web" } }),
    ];
    // raw a1 10, a2 10 − 10 = 0, b1 0, x 0 → min 0, max 10.
    expect(scores(interPodAffinityScore, p, nodes, pods)).toEqual([100, 0, 0, 0]);
  });

  it("is skipped without preferred terms, its own or others' that select it", () => {
    expect(scores(interPodAffinityScore, pod("p"), nodes)).toBeNull();
    const unrelated = bound("u", "a1", {
      affinity: {
        podAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 5, podAffinityTerm: term("db", ZONE) }],
        },
      },
    });
    expect(
      scores(interPodAffinityScore, pod("p", { labels: { app: "web" } }), nodes, [unrelated]),
    ).toBeNull();
  });

  it("counts the terms of pods already there that select this pod (kube's symmetry)", () => {
    const likesWeb = bound("l", "a1", {
      affinity: {
        podAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [
            { weight: 8, podAffinityTerm: term("web", ZONE) },
          ],
        },
      },
    });
    const needsWeb = bound("n", "b1", {
      affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term("web", HOST)] } },
    });
    const avoidsWeb = bound("v", "a2", {
      affinity: {
        podAntiAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [
            { weight: 2, podAffinityTerm: term("web", HOST) },
          ],
        },
      },
    });
    const web = pod("p", { labels: { app: "web" } });
    // raw a1 8, a2 8 − 2 = 6, b1 +1 (required affinity weighs kube's hardPodAffinityWeight, 1), x 0.
    expect(scores(interPodAffinityScore, web, nodes, [likesWeb, needsWeb, avoidsWeb])).toEqual([
      100, 75, 12, 0,
    ]);
  });

  it("never lets another tenant's pods score this one", () => {
    const theirs = bound("t", "a1", {
      tenantId: "ten_b",
      affinity: {
        podAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [
            { weight: 8, podAffinityTerm: term("web", ZONE) },
          ],
        },
      },
    });
    expect(scores(interPodAffinityScore, pod("p", { labels: { app: "web" } }), nodes, [theirs])).toBeNull();
  });
});
