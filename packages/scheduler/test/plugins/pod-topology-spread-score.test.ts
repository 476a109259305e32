import { describe, expect, it } from "vitest";
import { podTopologySpreadScore } from "../../src/plugins/pod-topology-spread-score";
import type { BoundPod, NodeState, TopologySpreadConstraint } from "../../src/types";
import { bound, node, pod, scores } from "../fixtures";

const ZONE = "topology.kubernetes.io/zone";
const RACK = "example.com/rack";
const web = { app: "web" };

/** A ScheduleAnyway constraint over app=web pods. */
function soft(overrides: Partial<TopologySpreadConstraint> = {}): TopologySpreadConstraint {
  return {
    maxSkew: 1,
    topologyKey: ZONE,
    whenUnsatisfiable: "ScheduleAnyway",
    labelSelector: { matchLabels: web },
    ...overrides,
  };
}

function webPods(counts: Record<string, number>): BoundPod[] {
  return Object.entries(counts).flatMap(([nodeId, n]) =>
    Array.from({ length: n }, (_, i) => bound(`${nodeId}-${i}`, nodeId, { labels: web })),
  );
}

const spreading = (...constraints: TopologySpreadConstraint[]) =>
  pod("p", { labels: web, topologySpreadConstraints: constraints });

/** Three zones and a node without a zone, in canonical order a1, b1, c1, x. */
const zoned = [
  node("a1", { labels: { [ZONE]: "a" } }),
  node("b1", { labels: { [ZONE]: "b" } }),
  node("c1", { labels: { [ZONE]: "c" } }),
  node("x"),
];

describe("PodTopologySpread scorer, exact scores (kube's scoreForCount and NormalizeScore)", () => {
  it("is skipped without ScheduleAnyway constraints", () => {
    expect(
      scores(podTopologySpreadScore, spreading(soft({ whenUnsatisfiable: "DoNotSchedule" })), zoned),
    ).toBe(null);
  });

  it("raw: count · log(domains + 2) + (maxSkew − 1), in thousandths; then 100 · (max + min − raw) / max", () => {
    // 3 domains: weight round(1000 · ln 5) = 1609; maxSkew 2 adds 1000.
    // raw a1 = 3 · 1609 + 1000 = 5827, b1 = 2 · 1609 + 1000 = 4218, c1 = 1609 + 1000 = 2609.
    // a1: ⌊100 · 2609 / 5827⌋ = 44, b1: ⌊100 · (5827 + 2609 − 4218) / 5827⌋ = 72, c1: 100; x has no zone: 0.
    const result = scores(
      podTopologySpreadScore,
      spreading(soft({ maxSkew: 2 })),
      zoned,
      webPods({ a1: 3, b1: 2, c1: 1 }),
    );
    expect(result).toEqual([44, 72, 100, 0]);
  });

  it("with maxSkew 1 and empty domains: raw a1 = 2 · 1609, b1 = 1609, c1 = 0", () => {
    // min 0: a1 ⌊100 · 0 / 3218⌋ = 0, b1 ⌊100 · 1609 / 3218⌋ = 50, c1 100.
    expect(scores(podTopologySpreadScore, spreading(soft()), zoned, webPods({ a1: 2, b1: 1 }))).toEqual([
      0, 50, 100, 0,
    ]);
  });

  it("every candidate scores 100 when no raw score is above 0, and a node without the key still 0", () => {
    expect(scores(podTopologySpreadScore, spreading(soft()), zoned)).toEqual([100, 100, 100, 0]);
  });

  it("every node scores 0 when none has the key", () => {
    expect(
      scores(podTopologySpreadScore, spreading(soft()), [node("x"), node("y")], webPods({ x: 1 })),
    ).toEqual([0, 0]);
  });

  it("sums the constraints; domains come only from nodes that carry every key", () => {
    // x has a zone but no rack: its pods and its zone count for nothing, and it scores 0.
    // Zones a (1 pod), b (2): weight round(1000 · ln 4) = 1386. Racks r1 (1), r2 (2), r3 (0): 1609.
    // raw a1 = 1386 + 1609 = 2995, b1 = 2 · 1386 + 2 · 1609 = 5990, b2 = 2 · 1386 + 0 = 2772.
    // a1: ⌊100 · (5990 + 2772 − 2995) / 5990⌋ = 96, b1: ⌊100 · 2772 / 5990⌋ = 46, b2: 100.
    const ns: NodeState[] = [
      node("a1", { labels: { [ZONE]: "a", [RACK]: "r1" } }),
      node("b1", { labels: { [ZONE]: "b", [RACK]: "r2" } }),
      node("b2", { labels: { [ZONE]: "b", [RACK]: "r3" } }),
      node("x", { labels: { [ZONE]: "c" } }),
    ];
    const p = spreading(soft(), soft({ topologyKey: RACK }));
    expect(scores(podTopologySpreadScore, p, ns, webPods({ a1: 1, b1: 2, x: 5 }))).toEqual([96, 46, 100, 0]);
  });

  it("normalizes the first `count` entries of a longer buffer, the lowest anywhere among them", () => {
    // The framework's buffer is sized for every node; only the candidates' entries are scores.
    // min 2609 (first), max 5827, −1 marks a node without the key, 7 lies beyond `count`.
    const buffer = Int32Array.of(2609, 5827, 4218, -1, 7);
    podTopologySpreadScore.normalize?.(buffer, 4);
    expect([...buffer]).toEqual([100, 44, 72, 0, 7]);
  });
});
