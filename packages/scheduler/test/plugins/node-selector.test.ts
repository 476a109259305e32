import { describe, expect, it } from "vitest";
import { nodeSelector, SELECTOR_MISMATCH } from "../../src/plugins/node-selector";
import { node, pod, verdict } from "../fixtures";

describe("NodeSelector filter", () => {
  it.each<{
    name: string;
    selector?: Record<string, string>;
    labels: Record<string, string>;
    expected: unknown;
  }>([
    { name: "no selector skips the filter", labels: {}, expected: "skipped" },
    { name: "empty selector skips the filter", selector: {}, labels: {}, expected: "skipped" },
    {
      name: "all labels match",
      selector: { zone: "a", pool: "gpu" },
      labels: { zone: "a", pool: "gpu", x: "y" },
      expected: null,
    },
    {
      name: "one value differs",
      selector: { zone: "a", pool: "gpu" },
      labels: { zone: "a", pool: "cpu" },
      expected: SELECTOR_MISMATCH,
    },
    { name: "a label is missing", selector: { zone: "a" }, labels: {}, expected: SELECTOR_MISMATCH },
    {
      name: "an empty value must be present",
      selector: { edge: "" },
      labels: {},
      expected: SELECTOR_MISMATCH,
    },
    {
      name: "inherited properties are not labels",
      selector: { constructor: "Object" },
      labels: {},
      expected: SELECTOR_MISMATCH,
    },
  ])("$name", ({ selector, labels, expected }) => {
    const p = pod("p", selector ? { nodeSelector: selector } : {});
    expect(verdict(nodeSelector, p, node("n", { labels }))).toBe(expected);
  });

  it("gives selectors with the same pairs in another order the same key", () => {
    const key = (nodeSelectorMap: Record<string, string>) =>
      nodeSelector.podKey?.(pod("p", { nodeSelector: nodeSelectorMap }));
    expect(key({ a: "1", b: "2" })).toBe(key({ b: "2", a: "1" }));
    expect(key({ a: "1" })).not.toBe(key({ a: "2" }));
  });
});
