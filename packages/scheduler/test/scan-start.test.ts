import { describe, expect, it } from "vitest";
import type { ScorePlugin } from "../src/framework";
import { schedule } from "../src/schedule";
import type { NodeState, PendingPod } from "../src/types";
import { node, pod } from "./fixtures";

/**
 * Scores 100 for the feasible node last in canonical order and 0 for the others: which node a pod
 * gets then shows which nodes its scan looked at.
 */
const lastScanned: ScorePlugin = {
  name: "LastScanned",
  weight: 1,
  prepare: () => (info) => info.index,
  normalize(scores, count) {
    let max = -1;
    for (let i = 0; i < count; i++) max = Math.max(max, scores[i] ?? 0);
    for (let i = 0; i < count; i++) scores[i] = scores[i] === max ? 100 : 0;
  },
};

/** n000, n001, … : 300 nodes, of which 144 are looked at per pod (48 %, kube's adaptive default). */
function cluster(overrides: (i: number) => Partial<NodeState> = () => ({})): NodeState[] {
  return Array.from({ length: 300 }, (_, i) => node(`n${String(i).padStart(3, "0")}`, { ...overrides(i) }));
}

const replicas = (count: number, from = 0) =>
  Array.from({ length: count }, (_, i) => pod(`p${from + i}`, { createdSeq: from + i }));

/** Where each placed pod went, by node name. */
function placedOn(nodes: NodeState[], pending: PendingPod[]): string[] {
  const plan = schedule({ nodes, pods: [] }, { pending }, { scorers: [lastScanned] });
  return plan.placements.map((p) => nodes.find((n) => n.id === p.nodeId)?.name ?? "?");
}

describe("in a cluster of 100+ nodes, each scan starts where the last one stopped (kube's nextStartNodeIndex)", () => {
  it("looks at 144 of 300 nodes per pod, from the node after the last one looked at, wrapping round", () => {
    // p0 n000–n143; p1 n144–n287; p2 n288–n299 and n000–n131; p3 n132–n275.
    expect(placedOn(cluster(), replicas(4))).toEqual(["n143", "n287", "n299", "n275"]);
  });

  it("starts at the first candidate at or after that node when the static filters leave some out", () => {
    // n144–n149 are cordoned: p1's scan starts at n150 and looks at n150–n293.
    const nodes = cluster((i) => ({ unschedulable: i >= 144 && i < 150 }));
    expect(placedOn(nodes, replicas(2))).toEqual(["n143", "n293"]);
  });

  it("moves the start on past a pod that fit nowhere, remembered or not, as a full scan would", () => {
    // The big pods may only go to n200–n299 and fit on none: each scan of theirs looks at those
    // 100 nodes from n200 to n299, so the next pod's scan starts at n000.
    const nodes = cluster((i) => (i >= 200 ? { labels: { pool: "b" } } : {}));
    const big = (i: number, createdSeq: number) =>
      pod(`big${i}`, {
        createdSeq,
        nodeSelector: { pool: "b" },
        requests: { cpuMillis: 100_000, memoryBytes: 1 },
      });
    const pending = [
      pod("p0", { createdSeq: 0 }), // n000–n143
      big(0, 1), // scans n200–n299
      pod("p1", { createdSeq: 2 }), // n000–n143 again
      big(1, 3), // the failure memo answers: the start is moved as by big0's scan
      pod("p2", { createdSeq: 4 }), // n000–n143 again, not n144–n287
    ];
    expect(placedOn(nodes, pending)).toEqual(["n143", "n143", "n143"]);
  });

  it("leaves the start where it was after a pod no node passes the static filters for", () => {
    const nowhere = (id: string, createdSeq: number) =>
      pod(id, { createdSeq, nodeSelector: { pool: "none" } });
    const pending = [
      pod("p0", { createdSeq: 0 }), // n000–n143
      nowhere("x0", 1), // no candidate to scan
      nowhere("x1", 2), // the same, from the failure memo
      pod("p1", { createdSeq: 3 }), // n144–n287
    ];
    expect(placedOn(cluster(), pending)).toEqual(["n143", "n287"]);
  });

  it("starts at n001 after a scan that ended at n000", () => {
    const nodes = cluster((i) => (i === 0 || i === 200 ? { labels: { pool: "x" } } : {}));
    const pending = [
      pod("p0", { createdSeq: 0 }), // n000–n143
      pod("s0", { createdSeq: 1, nodeSelector: { pool: "x" } }), // n200, then n000
      pod("p1", { createdSeq: 2 }), // n001–n144
    ];
    expect(placedOn(nodes, pending)).toEqual(["n143", "n200", "n144"]);
  });
});
