import { describe, expect, it } from "vitest";
import { ClusterState } from "../src/cluster-state";
import { FailureMemo } from "../src/failure-memo";
import type { NodeFilter } from "../src/framework";
import { nodeSelector } from "../src/plugins/node-selector";
import { StaticFilterCache } from "../src/static-cache";
import { node, pod } from "./fixtures";

describe("static filter cache", () => {
  const cluster = new ClusterState({
    nodes: [node("a", { labels: { zone: "a" } }), node("b", { labels: { zone: "b" } })],
    pods: [],
  });
  const zone = (z: string) => pod(`p-${z}`, { nodeSelector: { zone: z } });

  it("keeps answering right after the oldest keys are dropped", () => {
    const cache = new StaticFilterCache([nodeSelector], cluster, 2);
    for (const z of ["a", "b", "c", "a", "b", "c"]) {
      const verdict = cache.verdict(z, zone(z));
      expect([...verdict.candidates]).toEqual(z === "a" ? [0] : z === "b" ? [1] : []);
      expect(Object.fromEntries(verdict.counts)).toEqual(
        z === "c" ? { "node(s) didn't match node selector": 2 } : { "node(s) didn't match node selector": 1 },
      );
    }
  });

  it("computes each key once", () => {
    const cache = new StaticFilterCache([nodeSelector], cluster);
    expect(cache.verdict("a", zone("a"))).toBe(cache.verdict("a", zone("a")));
  });
});

describe("failure memo", () => {
  const nodes = new ClusterState({ nodes: [node("a"), node("b")], pods: [] }).nodes;
  const full: NodeFilter = () => "Insufficient cpu";

  it("forgets the oldest failure beyond its limit", () => {
    const memo = new FailureMemo([], 1);
    const candidates = Int32Array.from([0, 1]);
    const counts = new Map([["Insufficient cpu", 2]]);
    memo.remember("first", candidates, ["Insufficient cpu", "Insufficient cpu"], counts);
    memo.remember("second", candidates, ["Insufficient cpu", "Insufficient cpu"], counts);
    expect(memo.recall("first", full, nodes)).toBeNull();
    expect(Object.fromEntries(memo.recall("second", full, nodes) ?? [])).toEqual({ "Insufficient cpu": 2 });
  });

  it("re-checks only the nodes placed on since, and forgets when one of them now fits", () => {
    const log: number[] = [];
    const memo = new FailureMemo(log);
    memo.remember(
      "shape",
      Int32Array.from([0, 1]),
      ["Insufficient cpu", "Insufficient cpu"],
      new Map([["Insufficient cpu", 2]]),
    );
    log.push(1);
    const checked: string[] = [];
    const tooManyPods: NodeFilter = (info) => {
      checked.push(info.node.id);
      return "Too many pods";
    };
    expect(Object.fromEntries(memo.recall("shape", tooManyPods, nodes) ?? [])).toEqual({
      "Insufficient cpu": 1,
      "Too many pods": 1,
    });
    expect(checked).toEqual(["b"]);
    log.push(0);
    expect(memo.recall("shape", () => null, nodes)).toBeNull();
    expect(memo.recall("shape", tooManyPods, nodes)).toBeNull();
  });
});
