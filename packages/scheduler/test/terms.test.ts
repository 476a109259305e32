import { describe, expect, it } from "vitest";
import { selectorKey, selectorMatches, termMatches } from "../src/labels";
import {
  AFFINITY_MISMATCH,
  ANTI_AFFINITY_MISMATCH,
  EXISTING_ANTI_AFFINITY,
} from "../src/plugins/inter-pod-affinity";
import { NODE_AFFINITY_MISMATCH } from "../src/plugins/node-affinity";
import { SPREAD_MISMATCH, SPREAD_MISSING_LABEL } from "../src/plugins/pod-topology-spread";
import { namespaceLabels, resolveTerm, termSelects } from "../src/terms";
import type { LabelSelectorRequirement, NodeSelectorRequirement } from "../src/types";
import { node } from "./fixtures";

describe("kube's reason texts", () => {
  it("are Kubernetes' own words", () => {
    expect([
      NODE_AFFINITY_MISMATCH,
      EXISTING_ANTI_AFFINITY,
      AFFINITY_MISMATCH,
      ANTI_AFFINITY_MISMATCH,
      SPREAD_MISMATCH,
      SPREAD_MISSING_LABEL,
    ]).toEqual([
      "node(s) didn't match Pod's node affinity/selector",
      "node(s) didn't satisfy existing pods anti-affinity rules",
      "node(s) didn't match pod affinity rules",
      "node(s) didn't match pod anti-affinity rules",
      "node(s) didn't match pod topology spread constraints",
      "node(s) didn't match pod topology spread constraints (missing required label)",
    ]);
  });
});

describe("label selector edge cases", () => {
  const labels = { app: "web", tier: "front" };
  it.each<[string, LabelSelectorRequirement, boolean]>([
    ["NotIn with another value holds", { key: "app", operator: "NotIn", values: ["db"] }, true],
    ["DoesNotExist on an absent key holds", { key: "zone", operator: "DoesNotExist" }, true],
    ["DoesNotExist on a present key fails", { key: "app", operator: "DoesNotExist" }, false],
    ["Exists on an absent key fails", { key: "zone", operator: "Exists" }, false],
    ["an unknown operator matches nothing", { key: "app", operator: "Gt" as "In", values: ["1"] }, false],
  ])("%s", (_, requirement, want) => {
    expect(selectorMatches({ matchExpressions: [requirement] }, labels)).toBe(want);
  });
});

describe("node selector requirement edge cases", () => {
  const n = node("n1", { name: "ip-1", labels: { cores: "16", weird: "x16", signed: "+16" } });
  const holds = (req: NodeSelectorRequirement) => termMatches({ matchExpressions: [req] }, n);
  it.each<[string, NodeSelectorRequirement, boolean]>([
    ["Gt on a signed integer", { key: "signed", operator: "Gt", values: ["15"] }, true],
    ["Gt on a label that only ends in digits", { key: "weird", operator: "Gt", values: ["1"] }, false],
    ["Lt with a bound that only ends in digits", { key: "cores", operator: "Lt", values: ["x99"] }, false],
    ["Lt on an absent label", { key: "zone", operator: "Lt", values: ["99"] }, false],
    ["NotIn on another value", { key: "cores", operator: "NotIn", values: ["8"] }, true],
    ["an unknown operator", { key: "cores", operator: "Exists!" as "Exists" }, false],
  ])("%s → %s", (_, req, want) => {
    expect(holds(req)).toBe(want);
  });
});

describe("selector keys (caches of per-domain counts)", () => {
  it("are equal for equal selectors whatever the order of matchLabels, and differ otherwise", () => {
    expect(selectorKey({ matchLabels: { a: "1", b: "2" } })).toBe(
      selectorKey({ matchLabels: { b: "2", a: "1" } }),
    );
    const keys = [
      selectorKey(undefined),
      selectorKey({}),
      selectorKey({ matchLabels: { a: "1" } }),
      selectorKey({ matchLabels: { a: "2" } }),
      selectorKey({ matchExpressions: [{ key: "a", operator: "Exists" }] }),
    ];
    expect(new Set(keys).size).toBe(keys.length);
  });
});

describe("pod affinity terms", () => {
  const namespaces = namespaceLabels([
    { tenantId: "t", name: "default", labels: {} },
    { tenantId: "t", name: "infra", labels: { team: "x" } },
    { tenantId: "t", name: "ops", labels: { team: "x" } },
    { tenantId: "u", name: "infra", labels: { team: "x" } },
  ]);
  const owner = { tenantId: "t", namespace: "default" };
  const cache = (namespace: string, tenantId = "t") => ({ tenantId, namespace, labels: { app: "cache" } });
  const selector = { matchLabels: { app: "cache" } };

  it("with explicit namespaces, look only there (not in the owner's namespace)", () => {
    const term = resolveTerm(
      { topologyKey: "zone", labelSelector: selector, namespaces: ["infra"] },
      owner,
      namespaces,
    );
    expect([termSelects(term, cache("infra")), termSelects(term, cache("default"))]).toEqual([true, false]);
  });

  it("with a namespaceSelector, add every namespace of the owner's tenant it selects", () => {
    const term = resolveTerm(
      { topologyKey: "zone", labelSelector: selector, namespaceSelector: { matchLabels: { team: "x" } } },
      owner,
      namespaces,
    );
    expect([...(term.namespaces ?? [])].sort()).toEqual(["infra", "ops"]);
    expect(termSelects(term, cache("infra", "u"))).toBe(false);
  });

  it("with an empty namespaceSelector, select every namespace; without any, the owner's", () => {
    const all = resolveTerm(
      { topologyKey: "zone", labelSelector: selector, namespaceSelector: {} },
      owner,
      namespaces,
    );
    expect([all.namespaces, termSelects(all, cache("ops"))]).toEqual([null, true]);
    const emptyLists = resolveTerm(
      {
        topologyKey: "zone",
        labelSelector: selector,
        namespaceSelector: { matchLabels: {}, matchExpressions: [] },
      },
      owner,
      namespaces,
    );
    expect(emptyLists.namespaces).toBeNull();
    const own = resolveTerm({ topologyKey: "zone", labelSelector: selector }, owner, namespaces);
    expect([...(own.namespaces ?? [])]).toEqual(["default"]);
    expect(own.key).not.toBe(all.key);
  });

  it("without a labelSelector, select no pod", () => {
    const term = resolveTerm({ topologyKey: "zone" }, owner, namespaces);
    expect(termSelects(term, cache("default"))).toBe(false);
  });
});
