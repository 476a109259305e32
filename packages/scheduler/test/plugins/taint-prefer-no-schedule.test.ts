import { describe, expect, it } from "vitest";
import { taintPreferNoSchedule } from "../../src/plugins/taint-prefer-no-schedule";
import type { Taint } from "../../src/types";
import { node, pod, scores } from "../fixtures";

const spot: Taint = { key: "spot", effect: "PreferNoSchedule" };
const old: Taint = { key: "old-kernel", value: "yes", effect: "PreferNoSchedule" };

describe("TaintPreferNoSchedule scorer", () => {
  const nodes = [node("n1", { taints: [spot, old] }), node("n2", { taints: [spot] }), node("n3")];

  it("prefers nodes with fewer PreferNoSchedule taints", () => {
    expect(scores(taintPreferNoSchedule, pod("p"), nodes)).toEqual([0, 50, 100]);
  });

  it("does not hold tolerated taints against a node", () => {
    const p = pod("p", { tolerations: [{ key: "spot", operator: "Exists" }] });
    expect(scores(taintPreferNoSchedule, p, nodes)).toEqual([0, 100, 100]);
  });

  it("ignores NoSchedule taints (the filter's business)", () => {
    const hard = [
      node("n1", { taints: [{ key: "gpu", effect: "NoSchedule" }] }),
      node("n2", { taints: [spot] }),
    ];
    expect(scores(taintPreferNoSchedule, pod("p"), hard)).toEqual([100, 0]);
  });

  it("is skipped when no node has a PreferNoSchedule taint", () => {
    expect(scores(taintPreferNoSchedule, pod("p"), [node("n1"), node("n2")])).toBeNull();
  });

  it("normalises as kube does: 100 − ⌊100 · count / most⌋", () => {
    const t = (key: string): Taint => ({ key, effect: "PreferNoSchedule" });
    const counted = [
      node("n1", { taints: [t("a")] }),
      node("n2", { taints: [t("a"), t("b"), t("c")] }),
      node("n3", { taints: [t("a"), t("b")] }),
    ];
    expect(scores(taintPreferNoSchedule, pod("p"), counted)).toEqual([67, 0, 34]);
  });
});
