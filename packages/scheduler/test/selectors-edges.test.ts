import { describe, expect, it } from "vitest";
import { selectorKey, selectorMatches, termMatches } from "../src/labels";
import { namespaceLabels, resolveTerm } from "../src/terms";
import { node } from "./fixtures";

/** Label values to try, Stryker's placeholder string among them: no default may stand in for `values`. */
const anyValues = ["", "web", "Stryker was here"];

describe("an In requirement without values matches no value (kube requires values)", () => {
  it.each(anyValues)("pod label selector, label %j", (value) => {
    expect(selectorMatches({ matchExpressions: [{ key: "app", operator: "In" }] }, { app: value })).toBe(
      false,
    );
  });

  it.each(anyValues)("node selector term, label %j", (value) => {
    const n = node("n", { labels: { app: value } });
    expect(termMatches({ matchExpressions: [{ key: "app", operator: "In" }] }, n)).toBe(false);
  });
});

describe("selector keys (names of shared per-domain counts)", () => {
  it("differ for selectors that differ only in their expressions", () => {
    const web = selectorKey({ matchExpressions: [{ key: "app", operator: "In", values: ["web"] }] });
    const db = selectorKey({ matchExpressions: [{ key: "app", operator: "In", values: ["db"] }] });
    const exists = selectorKey({ matchExpressions: [{ key: "app", operator: "Exists" }] });
    expect(new Set([web, db, exists, selectorKey({}), selectorKey(undefined)]).size).toBe(5);
  });
});

describe("namespaces of a pod affinity term", () => {
  it("keeps every namespace of a tenant with its labels", () => {
    const labels = namespaceLabels([
      { tenantId: "t", name: "infra", labels: { team: "x" } },
      { tenantId: "t", name: "ops", labels: { team: "y" } },
      { tenantId: "u", name: "infra", labels: {} },
    ]);
    expect([...(labels.get("t") ?? [])]).toEqual([
      ["infra", { team: "x" }],
      ["ops", { team: "y" }],
    ]);
    expect([...(labels.get("u") ?? [])]).toEqual([["infra", {}]]);
  });

  it("a namespaceSelector with expressions only is not the empty selector: it selects by them", () => {
    const labels = namespaceLabels([
      { tenantId: "t", name: "infra", labels: { team: "x" } },
      { tenantId: "t", name: "ops", labels: { team: "y" } },
    ]);
    const term = resolveTerm(
      {
        topologyKey: "zone",
        labelSelector: {},
        namespaceSelector: { matchExpressions: [{ key: "team", operator: "In", values: ["x"] }] },
      },
      { tenantId: "t", namespace: "default" },
      labels,
    );
    expect(term.namespaces).toEqual(new Set(["infra"]));
  });

  it("a namespaceSelector selects nothing when the snapshot lists no namespace of the tenant", () => {
    const term = resolveTerm(
      {
        topologyKey: "zone",
        labelSelector: {},
        namespaceSelector: { matchExpressions: [{ key: "team", operator: "DoesNotExist" }] },
      },
      { tenantId: "t", namespace: "default" },
      namespaceLabels(undefined),
    );
    expect(term.namespaces).toEqual(new Set());
  });
});
