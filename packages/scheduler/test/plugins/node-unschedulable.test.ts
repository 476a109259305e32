import { describe, expect, it } from "vitest";
import { NODE_UNSCHEDULABLE, nodeUnschedulable } from "../../src/plugins/node-unschedulable";
import { node, pod, verdict } from "../fixtures";

describe("NodeUnschedulable filter", () => {
  it.each([
    { unschedulable: false, expected: null },
    { unschedulable: true, expected: "node(s) were unschedulable" },
  ])("cordoned=$unschedulable → $expected", ({ unschedulable, expected }) => {
    expect(verdict(nodeUnschedulable, pod("p"), node("n", { unschedulable }))).toBe(expected);
  });

  it("rejects a cordoned node even for a pod that tolerates everything", () => {
    const p = pod("p", { tolerations: [{ key: "", operator: "Exists" }] });
    expect(verdict(nodeUnschedulable, p, node("n", { unschedulable: true }))).toBe(NODE_UNSCHEDULABLE);
  });
});
