import { describe, expect, it } from "vitest";
import { ClusterState } from "../src/cluster-state";
import type { NodeInfo, ScorePlugin } from "../src/framework";
import { pickBest, scratchFor, type WeightedScorer } from "../src/pick-best";
import { node, pod } from "./fixtures";

/** A scorer giving each node (by id) the raw score in `byNode`; 0 for nodes not listed. */
function fixed(name: string, byNode: Record<string, number>, extra: Partial<ScorePlugin> = {}): ScorePlugin {
  return { name, weight: 1, prepare: () => (info: NodeInfo) => byNode[info.node.id] ?? 0, ...extra };
}

/** The node id pickBest chooses among `feasible` (node indices; nodes a, b, c, d are 0..3). */
function pick(scorers: WeightedScorer[], feasible: number[] = [0, 1, 2, 3], cached = true): string {
  const cluster = new ClusterState({ nodes: ["a", "b", "c", "d"].map((id) => node(id)), pods: [] });
  const index = pickBest(
    pod("p"),
    cluster,
    scorers,
    Int32Array.from(feasible),
    feasible.length,
    scratchFor(cluster.nodes.length, cached),
  );
  return cluster.nodeId(index);
}

const one = (plugin: ScorePlugin, weight = 1): WeightedScorer => ({ plugin, weight });

describe("pickBest", () => {
  it.each([
    [[0, 1, 2, 3], "a"],
    [[2, 3, 0, 1], "a"],
    [[3, 1, 2], "b"],
    [[3, 2], "c"],
  ])("breaks a tie by canonical order wherever the scan started (feasible %j → %s)", (feasible, want) => {
    expect(pick([one(fixed("Flat", {}))], feasible)).toBe(want);
  });

  it("takes the highest total, wherever it is in the scan", () => {
    expect(pick([one(fixed("S", { c: 7, d: 9 }))], [2, 3, 0, 1])).toBe("d");
    expect(pick([one(fixed("S", { c: 9, d: 7 }))], [3, 2, 0, 1])).toBe("c");
  });

  it("weighs each scorer and sums the weighted scores", () => {
    const cpu = fixed("Cpu", { a: 10, b: 0 });
    const spread = fixed("Spread", { a: 0, b: 6 });
    expect(pick([one(cpu, 1), one(spread, 1)], [0, 1])).toBe("a");
    expect(pick([one(cpu, 1), one(spread, 2)], [0, 1])).toBe("b");
  });

  it("clamps raw scores to 0..100: above 100 counts as 100", () => {
    const big = fixed("Big", { a: 250, b: 100 });
    const nudge = fixed("Nudge", { a: 0, b: 1 });
    expect(pick([one(big), one(nudge)], [0, 1])).toBe("b");
  });

  it("clamps raw scores to 0..100: below 0 counts as 0", () => {
    const negative = fixed("Negative", { a: -50, b: 0 });
    const nudge = fixed("Nudge", { a: 1, b: 0 });
    expect(pick([one(negative), one(nudge)], [0, 1])).toBe("a");
  });

  it("clamps raw scores to integers: 0.9 counts as 0, 99.9 as 99", () => {
    expect(pick([one(fixed("Fraction", { a: 0, b: 0.9 }))], [0, 1])).toBe("a");
    expect(pick([one(fixed("Fraction", { a: 99, b: 99.9 }))], [0, 1])).toBe("a");
    expect(pick([one(fixed("Fraction", { a: 99, b: 100 }))], [0, 1])).toBe("b");
  });

  it("counts NaN as 0", () => {
    const nan = fixed("NaN", { a: 0, b: Number.NaN });
    const nudge = fixed("Nudge", { a: 0, b: 5 });
    expect(pick([one(nan), one(nudge)], [0, 1])).toBe("b");
  });

  it("clamps what normalize leaves too", () => {
    const normalizedBig = fixed(
      "NormBig",
      { a: 1, b: 2 },
      {
        normalize(scores, count) {
          for (let i = 0; i < count; i++) scores[i] = (scores[i] as number) === 1 ? 500 : 100;
        },
      },
    );
    const nudge = fixed("Nudge", { a: 0, b: 1 });
    expect(pick([one(normalizedBig), one(nudge)], [0, 1])).toBe("b");
  });

  it("normalizes over the feasible nodes only, in scan order", () => {
    const seen: number[][] = [];
    const recorder = fixed(
      "Recorder",
      { a: 1, b: 2, c: 3, d: 4 },
      {
        normalize(scores, count) {
          seen.push([...scores.slice(0, count)]);
          for (let i = 0; i < count; i++) scores[i] = 100 - (scores[i] as number);
        },
      },
    );
    expect(pick([one(recorder)], [2, 0, 1])).toBe("a");
    expect(seen).toEqual([[3, 1, 2]]);
  });

  it("skips a scorer with nothing to say about the pod", () => {
    const silent: ScorePlugin = { name: "Silent", weight: 1, prepare: () => null };
    expect(pick([one(silent), one(fixed("S", { c: 1 }))])).toBe("c");
  });

  it("reads cached raw scores per pod key, and recomputes a node only once it changed", () => {
    let calls = 0;
    const plugin: ScorePlugin = {
      name: "Counting",
      weight: 1,
      podKey: () => "same",
      prepare: () => (info) => {
        calls += 1;
        return info.node.id === "b" ? 5 : 0;
      },
    };
    const cluster = new ClusterState({ nodes: ["a", "b"].map((id) => node(id)), pods: [] });
    const scratch = scratchFor(2);
    const feasible = Int32Array.from([0, 1]);
    expect(pickBest(pod("p1"), cluster, [one(plugin)], feasible, 2, scratch)).toBe(1);
    expect(pickBest(pod("p2"), cluster, [one(plugin)], feasible, 2, scratch)).toBe(1);
    expect(calls).toBe(2);
    cluster.place(pod("p3"), 0);
    expect(pickBest(pod("p4"), cluster, [one(plugin)], feasible, 2, scratch)).toBe(1);
    expect(calls).toBe(3);
    // Without the cache every call computes every node.
    const fresh = scratchFor(2, false);
    pickBest(pod("p5"), cluster, [one(plugin)], feasible, 2, fresh);
    expect(calls).toBe(5);
  });
});
