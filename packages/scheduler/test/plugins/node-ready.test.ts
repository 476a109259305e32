import { describe, expect, it } from "vitest";
import { NODE_NOT_READY, nodeReady } from "../../src/plugins/node-ready";
import { node, pod, verdict } from "../fixtures";

describe("NodeReady filter", () => {
  it.each([
    { ready: true, expected: null },
    { ready: false, expected: NODE_NOT_READY },
  ])("ready=$ready → $expected", ({ ready, expected }) => {
    expect(verdict(nodeReady, pod("p"), node("n", { ready }))).toBe(expected);
  });

  it("says 'node(s) not ready'", () => {
    expect(NODE_NOT_READY).toBe("node(s) not ready");
  });
});
