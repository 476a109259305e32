import { describe, expect, it } from "vitest";
import { selectorMatches, termMatches, topologyValue } from "../src/labels";
import type { LabelSelector, NodeSelectorRequirement } from "../src/types";
import { node } from "./fixtures";

describe("label selectors (pods)", () => {
  const labels = { app: "web", tier: "front" };
  it.each([
    { name: "empty selector matches everything", selector: {}, expected: true },
    {
      name: "matchLabels all present",
      selector: { matchLabels: { app: "web", tier: "front" } },
      expected: true,
    },
    { name: "matchLabels one value differs", selector: { matchLabels: { app: "db" } }, expected: false },
    { name: "matchLabels key absent", selector: { matchLabels: { zone: "a" } }, expected: false },
    {
      name: "In with the value",
      selector: { matchExpressions: [{ key: "app", operator: "In" as const, values: ["db", "web"] }] },
      expected: true,
    },
    {
      name: "In on an absent key",
      selector: { matchExpressions: [{ key: "x", operator: "In" as const, values: ["web"] }] },
      expected: false,
    },
    {
      name: "NotIn on an absent key holds",
      selector: { matchExpressions: [{ key: "x", operator: "NotIn" as const, values: ["web"] }] },
      expected: true,
    },
    {
      name: "NotIn with the value",
      selector: { matchExpressions: [{ key: "app", operator: "NotIn" as const, values: ["web"] }] },
      expected: false,
    },
    {
      name: "Exists",
      selector: { matchExpressions: [{ key: "tier", operator: "Exists" as const }] },
      expected: true,
    },
    {
      name: "DoesNotExist on a present key",
      selector: { matchExpressions: [{ key: "tier", operator: "DoesNotExist" as const }] },
      expected: false,
    },
    {
      name: "labels and expressions are ANDed",
      selector: {
        matchLabels: { app: "web" },
        matchExpressions: [{ key: "tier", operator: "In" as const, values: ["back"] }],
      },
      expected: false,
    },
  ] as { name: string; selector: LabelSelector; expected: boolean }[])("$name", ({ selector, expected }) => {
    expect(selectorMatches(selector, labels)).toBe(expected);
  });

  it("does not see inherited properties as labels", () => {
    expect(selectorMatches({ matchExpressions: [{ key: "toString", operator: "Exists" }] }, {})).toBe(false);
  });
});

describe("node selector terms", () => {
  const n = node("n1", { name: "ip-10-0-0-1", labels: { zone: "a", cores: "16", weird: "16x" } });
  const term = (req: NodeSelectorRequirement) => termMatches({ matchExpressions: [req] }, n);
  it.each([
    { req: { key: "zone", operator: "In", values: ["a", "b"] }, expected: true },
    { req: { key: "zone", operator: "NotIn", values: ["a"] }, expected: false },
    { req: { key: "disk", operator: "NotIn", values: ["ssd"] }, expected: true },
    { req: { key: "zone", operator: "Exists" }, expected: true },
    { req: { key: "disk", operator: "DoesNotExist" }, expected: true },
    { req: { key: "cores", operator: "Gt", values: ["15"] }, expected: true },
    { req: { key: "cores", operator: "Gt", values: ["16"] }, expected: false },
    { req: { key: "cores", operator: "Lt", values: ["17"] }, expected: true },
    { req: { key: "cores", operator: "Lt", values: ["16"] }, expected: false },
    { req: { key: "cores", operator: "Gt", values: ["-3"] }, expected: true },
    { req: { key: "weird", operator: "Gt", values: ["1"] }, expected: false },
    { req: { key: "absent", operator: "Lt", values: ["100"] }, expected: false },
    { req: { key: "cores", operator: "Gt", values: ["1", "2"] }, expected: false },
  ] as { req: NodeSelectorRequirement; expected: boolean }[])(
    "$req.key $req.operator $req.values → $expected",
    ({ req, expected }) => {
      expect(term(req)).toBe(expected);
    },
  );

  it("matches metadata.name in matchFields and nothing else", () => {
    expect(
      termMatches({ matchFields: [{ key: "metadata.name", operator: "In", values: ["ip-10-0-0-1"] }] }, n),
    ).toBe(true);
    expect(
      termMatches({ matchFields: [{ key: "metadata.name", operator: "NotIn", values: ["ip-10-0-0-1"] }] }, n),
    ).toBe(false);
    expect(termMatches({ matchFields: [{ key: "metadata.uid", operator: "Exists" }] }, n)).toBe(false);
  });

  it("treats a term with neither expressions nor fields as matching no node", () => {
    expect(termMatches({}, n)).toBe(false);
    expect(termMatches({ matchExpressions: [], matchFields: [] }, n)).toBe(false);
  });

  it("gives kubernetes.io/hostname as the node's name unless the node labels it", () => {
    expect(topologyValue(n, "kubernetes.io/hostname")).toBe("ip-10-0-0-1");
    expect(
      topologyValue(node("m", { labels: { "kubernetes.io/hostname": "h" } }), "kubernetes.io/hostname"),
    ).toBe("h");
    expect(topologyValue(n, "topology.kubernetes.io/zone")).toBeUndefined();
  });
});
