import { describe, expect, it } from "vitest";
import { feasibleNodesToFind } from "../src/sampling";

describe("how many feasible nodes to find (kube's percentageOfNodesToScore)", () => {
  it.each([
    { nodes: 0, percentage: undefined, expected: 0 },
    { nodes: 50, percentage: undefined, expected: 50 },
    { nodes: 99, percentage: 10, expected: 99 },
    { nodes: 100, percentage: undefined, expected: 100 },
    { nodes: 1000, percentage: undefined, expected: 420 },
    { nodes: 5000, percentage: undefined, expected: 500 },
    { nodes: 10_000, percentage: undefined, expected: 500 },
    { nodes: 1000, percentage: 0, expected: 420 },
    { nodes: 1000, percentage: 100, expected: 1000 },
    { nodes: 1000, percentage: 30, expected: 300 },
    { nodes: 1000, percentage: 1, expected: 100 },
  ])("$nodes nodes at $percentage% → $expected", ({ nodes, percentage, expected }) => {
    expect(feasibleNodesToFind(nodes, percentage)).toBe(expected);
  });
});
