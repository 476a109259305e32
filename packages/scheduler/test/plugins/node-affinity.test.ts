import { describe, expect, it } from "vitest";
import { schedule } from "../../src/index";
import { nodeAffinity } from "../../src/plugins/node-affinity";
import { nodeAffinityScore } from "../../src/plugins/node-affinity-score";
import type { NodeSelectorTerm } from "../../src/types";
import { node, pod, scores, verdict } from "../fixtures";

const REASON = "node(s) didn't match Pod's node affinity/selector";

function requiring(...terms: NodeSelectorTerm[]) {
  return pod("p", {
    affinity: {
      nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: terms } },
    },
  });
}

describe("NodeAffinity filter", () => {
  const zoneA = node("n", { labels: { "topology.kubernetes.io/zone": "a", gen: "5" } });

  it("has nothing to say about a pod without required node affinity", () => {
    expect(verdict(nodeAffinity, pod("p"), zoneA)).toBe("skipped");
  });

  it.each([
    {
      name: "a matching term",
      terms: [
        {
          matchExpressions: [{ key: "topology.kubernetes.io/zone", operator: "In" as const, values: ["a"] }],
        },
      ],
      expected: null,
    },
    {
      name: "terms are ORed: the second matches",
      terms: [
        {
          matchExpressions: [{ key: "topology.kubernetes.io/zone", operator: "In" as const, values: ["b"] }],
        },
        { matchExpressions: [{ key: "gen", operator: "Gt" as const, values: ["4"] }] },
      ],
      expected: null,
    },
    {
      name: "expressions within a term are ANDed",
      terms: [
        {
          matchExpressions: [
            { key: "topology.kubernetes.io/zone", operator: "In" as const, values: ["a"] },
            { key: "gen", operator: "Lt" as const, values: ["5"] },
          ],
        },
      ],
      expected: REASON,
    },
    { name: "no terms match no node", terms: [], expected: REASON },
    { name: "an empty term matches no node", terms: [{}], expected: REASON },
  ])("$name", ({ terms, expected }) => {
    expect(verdict(nodeAffinity, requiring(...terms), zoneA)).toBe(expected);
  });

  it("reports kube's reason in the plan", () => {
    const plan = schedule(
      { nodes: [node("a"), node("b", { labels: { disk: "ssd" } })], pods: [] },
      { pending: [requiring({ matchExpressions: [{ key: "disk", operator: "In", values: ["nvme"] }] })] },
    );
    expect(plan.unschedulable[0]?.reason).toBe(`0/2 nodes are available: 2 ${REASON}.`);
  });
});

describe("NodeAffinity scorer", () => {
  const nodes = [
    node("a", { labels: { disk: "ssd", zone: "a" } }),
    node("b", { labels: { zone: "a" } }),
    node("c"),
  ];
  const preferring = pod("p", {
    affinity: {
      nodeAffinity: {
        preferredDuringSchedulingIgnoredDuringExecution: [
          {
            weight: 30,
            preference: { matchExpressions: [{ key: "disk", operator: "In", values: ["ssd"] }] },
          },
          { weight: 10, preference: { matchExpressions: [{ key: "zone", operator: "Exists" }] } },
        ],
      },
    },
  });

  it("sums the weights of the matched terms, the best candidate scaled to 100", () => {
    // a: 40, b: 10, c: 0 → 100, 25, 0.
    expect(scores(nodeAffinityScore, preferring, nodes)).toEqual([100, 25, 0]);
  });

  it("is skipped for pods without preferences", () => {
    expect(scores(nodeAffinityScore, pod("p"), nodes)).toBeNull();
  });

  it("moves a pod to the preferred node in a plan", () => {
    const plan = schedule({ nodes, pods: [] }, { pending: [preferring] });
    expect(plan.placements[0]?.nodeId).toBe("a");
  });
});
