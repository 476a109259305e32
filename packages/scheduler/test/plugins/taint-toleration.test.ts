import { describe, expect, it } from "vitest";
import { schedule } from "../../src/index";
import { taintToleration } from "../../src/plugins/taint-toleration";
import { tolerates } from "../../src/plugins/tolerations";
import type { Taint, Toleration } from "../../src/types";
import { node, pod, verdict } from "../fixtures";

const gpu: Taint = { key: "gpu", value: "true", effect: "NoSchedule" };

describe("toleration matching (Kubernetes ToleratesTaint)", () => {
  it.each<{ name: string; toleration: Toleration; taint: Taint; expected: boolean }>([
    {
      name: "Equal with the same key and value",
      toleration: { key: "gpu", value: "true" },
      taint: gpu,
      expected: true,
    },
    {
      name: "Equal with another value",
      toleration: { key: "gpu", value: "false" },
      taint: gpu,
      expected: false,
    },
    {
      name: "Equal without value vs taint with value",
      toleration: { key: "gpu" },
      taint: gpu,
      expected: false,
    },
    {
      name: "Equal without value vs taint without value",
      toleration: { key: "x" },
      taint: { key: "x", effect: "NoExecute" },
      expected: true,
    },
    {
      name: "Exists ignores the value",
      toleration: { key: "gpu", operator: "Exists" },
      taint: gpu,
      expected: true,
    },
    {
      name: "Exists with another key",
      toleration: { key: "spot", operator: "Exists" },
      taint: gpu,
      expected: false,
    },
    {
      name: "Exists with empty key tolerates everything",
      toleration: { key: "", operator: "Exists" },
      taint: gpu,
      expected: true,
    },
    {
      name: "matching effect",
      toleration: { key: "gpu", operator: "Exists", effect: "NoSchedule" },
      taint: gpu,
      expected: true,
    },
    {
      name: "other effect",
      toleration: { key: "gpu", operator: "Exists", effect: "NoExecute" },
      taint: gpu,
      expected: false,
    },
  ])("$name → $expected", ({ toleration, taint, expected }) => {
    expect(tolerates(toleration, taint)).toBe(expected);
  });
});

describe("TaintToleration filter", () => {
  it.each<{ name: string; taints: Taint[]; tolerations?: Toleration[]; expected: string | null }>([
    { name: "untainted node", taints: [], expected: null },
    { name: "untolerated NoSchedule", taints: [gpu], expected: "node(s) had untolerated taint {gpu: true}" },
    {
      name: "untolerated NoExecute without value",
      taints: [{ key: "dedicated", effect: "NoExecute" }],
      expected: "node(s) had untolerated taint {dedicated: }",
    },
    {
      name: "PreferNoSchedule never rejects",
      taints: [{ key: "spot", effect: "PreferNoSchedule" }],
      expected: null,
    },
    {
      name: "tolerated taint",
      taints: [gpu],
      tolerations: [{ key: "gpu", operator: "Exists" }],
      expected: null,
    },
    {
      name: "names the first untolerated taint",
      taints: [gpu, { key: "zone", value: "a", effect: "NoSchedule" }],
      tolerations: [{ key: "gpu", value: "true" }],
      expected: "node(s) had untolerated taint {zone: a}",
    },
  ])("$name", ({ taints, tolerations, expected }) => {
    const p = pod("p", tolerations ? { tolerations } : {});
    // Another node with a hard taint, so the plugin does not skip itself.
    const tainted = node("other", { taints: [{ key: "x", effect: "NoSchedule" }] });
    expect(verdict(taintToleration, p, node("n", { taints }), [], [tainted])).toBe(expected);
  });

  it("skips itself when no node has a hard taint", () => {
    const n = node("n", { taints: [{ key: "spot", effect: "PreferNoSchedule" }] });
    expect(verdict(taintToleration, pod("p"), n)).toBe("skipped");
  });
});

describe("pod key (static filter cache)", () => {
  const tainted = node("gpu", { taints: [gpu] });
  it.each<{ differs: string; tolerating: Toleration; other: Toleration }>([
    {
      differs: "value",
      tolerating: { key: "gpu", value: "true", effect: "NoSchedule" },
      other: { key: "gpu", value: "false", effect: "NoSchedule" },
    },
    {
      differs: "operator",
      tolerating: { key: "gpu", operator: "Exists" },
      other: { key: "gpu", operator: "Equal" },
    },
    {
      differs: "effect",
      tolerating: { key: "gpu", operator: "Exists", effect: "NoSchedule" },
      other: { key: "gpu", operator: "Exists", effect: "NoExecute" },
    },
    {
      differs: "key",
      tolerating: { key: "gpu", operator: "Exists" },
      other: { key: "gpu2", operator: "Exists" },
    },
  ])(
    "tells apart tolerations that differ only in $differs, whichever pod comes first",
    ({ tolerating, other }) => {
      for (const [first, second] of [
        [tolerating, other],
        [other, tolerating],
      ] as const) {
        const pending = [
          pod("first", { createdSeq: 1, tolerations: [first] }),
          pod("second", { createdSeq: 2, tolerations: [second] }),
        ];
        const plan = schedule({ nodes: [tainted], pods: [] }, { pending });
        const placed = first === tolerating ? "first" : "second";
        expect(plan.placements.map((p) => p.podId)).toEqual([placed]);
        expect(plan.unschedulable.map((u) => u.reason)).toEqual([
          "0/1 nodes are available: 1 node(s) had untolerated taint {gpu: true}.",
        ]);
      }
    },
  );
});
