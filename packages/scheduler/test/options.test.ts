import { describe, expect, it } from "vitest";
import type { ScorePlugin } from "../src/index";
import { leastAllocated, SchedulerInputError, schedule } from "../src/index";
import type { ScheduleOptions } from "../src/schedule";
import { bound, GiB, node, pod } from "./fixtures";

/** A scorer that gives node `favourite` `score` and every other node 0. */
function favours(name: string, favourite: string, score: number, weight = 1): ScorePlugin {
  return { name, weight, prepare: () => (info) => (info.node.id === favourite ? score : 0) };
}

const toA = favours("ToA", "a", 10);
const toB = favours("ToB", "b", 6);

function landsOn(options: ScheduleOptions): string | undefined {
  const plan = schedule({ nodes: [node("a"), node("b")], pods: [] }, { pending: [pod("p")] }, options);
  return plan.placements[0]?.nodeId;
}

describe("scorer weights", () => {
  it("uses each plugin's own weight unless overridden", () => {
    expect(landsOn({ scorers: [toA, toB] })).toBe("a");
    expect(landsOn({ scorers: [toA, favours("ToB", "b", 6, 2)] })).toBe("b");
    expect(landsOn({ scorers: [toA, favours("ToB", "b", 6, 2)], weights: { Other: 5 } })).toBe("b");
  });

  it("overrides a weight by scorer name", () => {
    expect(landsOn({ scorers: [toA, toB], weights: { ToB: 2 } })).toBe("b");
    expect(landsOn({ scorers: [toA, favours("ToB", "b", 6, 2)], weights: { ToB: 1 } })).toBe("a");
  });

  it("switches a scorer off with weight 0", () => {
    expect(landsOn({ scorers: [toA, toB], weights: { ToA: 0 } })).toBe("b");
    const prepared: string[] = [];
    const spy: ScorePlugin = {
      name: "Spy",
      weight: 1,
      prepare: () => {
        prepared.push("Spy");
        return () => 0;
      },
    };
    landsOn({ scorers: [spy, toB], weights: { Spy: 0 } });
    expect(prepared).toEqual([]);
  });

  it.each([
    [1.5, "weight of scorer ToB must be a non-negative integer, got 1.5"],
    [-1, "weight of scorer ToB must be a non-negative integer, got -1"],
    [Number.NaN, "weight of scorer ToB must be a non-negative integer, got NaN"],
  ])("refuses weight %s", (weight, message) => {
    const run = () => landsOn({ scorers: [toA, toB], weights: { ToB: weight } });
    expect(run).toThrow(SchedulerInputError);
    expect(run).toThrow(message);
  });

  it("refuses a plugin whose own weight is invalid", () => {
    expect(() => landsOn({ scorers: [favours("Bad", "a", 1, -2)] })).toThrow(
      "weight of scorer Bad must be a non-negative integer, got -2",
    );
  });
});

describe("scoring strategy", () => {
  const nodes = [node("busy"), node("idle")];
  const pods = [bound("b", "busy", { requests: { cpuMillis: 2000, memoryBytes: 4 * GiB } })];
  const onlyResources = { weights: { BalancedAllocation: 0 } };

  it("replaces LeastAllocated among the default scorers", () => {
    const plan = (options: ScheduleOptions) =>
      schedule({ nodes, pods }, { pending: [pod("p")] }, { ...onlyResources, ...options }).placements[0]
        ?.nodeId;
    expect(plan({})).toBe("idle");
    expect(plan({ scoringStrategy: { type: "MostAllocated" } })).toBe("busy");
    expect(plan({ scoringStrategy: { type: "LeastAllocated" } })).toBe("idle");
  });

  it("replaces LeastAllocated in custom scorers too, and adds nothing when they leave it out", () => {
    const most = { scoringStrategy: { type: "MostAllocated" as const } };
    const withLeast = schedule(
      { nodes, pods },
      { pending: [pod("p")] },
      { scorers: [leastAllocated], ...most },
    );
    expect(withLeast.placements[0]?.nodeId).toBe("busy");
    const without = schedule(
      { nodes, pods },
      { pending: [pod("p")] },
      { scorers: [favours("ToIdle", "idle", 1)], ...most },
    );
    expect(without.placements[0]?.nodeId).toBe("idle");
  });

  it("is weighted under its own name (the strategy's type), not LeastAllocated's", () => {
    const scorers = [leastAllocated, favours("ToIdle", "idle", 40)];
    const landing = (weights: Record<string, number>) =>
      schedule(
        { nodes, pods },
        { pending: [pod("p")] },
        { scorers, weights, scoringStrategy: { type: "MostAllocated" } },
      ).placements[0]?.nodeId;
    expect(landing({})).toBe("busy");
    expect(landing({ LeastAllocated: 0 })).toBe("busy");
    expect(landing({ MostAllocated: 0 })).toBe("idle");
  });
});
