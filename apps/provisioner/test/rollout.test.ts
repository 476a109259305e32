import { describe, expect, it } from "vitest";
import {
  type PlanPod,
  planRecreate,
  planRolling,
  planScale,
  resolveFenceposts,
  resolveIntOrPercent,
} from "../src/controllers/rollout";

let seq = 0;
const pod = (id: string, hash: string, over: Partial<PlanPod> = {}): PlanPod => ({
  id,
  hash,
  revision: hash === "new" ? 2 : 1,
  available: true,
  nodeId: "node_a",
  phase: "Running",
  ready: true,
  restarts: 0,
  seq: ++seq,
  ...over,
});
const rolling = (replicas: number, surge: number, unavailable: number) => ({
  replicas,
  hash: "new",
  surge,
  unavailable,
});

describe("rollout arithmetic", () => {
  it("resolves percentages as Kubernetes does: surge rounds up, unavailable rounds down", () => {
    expect(resolveIntOrPercent("25%", 10, true)).toBe(3);
    expect(resolveIntOrPercent("25%", 10, false)).toBe(2);
    expect(resolveIntOrPercent("25%", 1, true)).toBe(1);
    expect(resolveIntOrPercent("25%", 1, false)).toBe(0);
    expect(resolveIntOrPercent(4, 10, true)).toBe(4);
  });

  it("lets one pod be unavailable when both fenceposts come to zero (Kubernetes' ResolveFenceposts)", () => {
    expect(resolveFenceposts("0%", "10%", 3)).toEqual({ surge: 0, unavailable: 1 });
    expect(resolveFenceposts("25%", "25%", 4)).toEqual({ surge: 1, unavailable: 1 });
  });

  it("creates the missing replicas of a new deployment", () => {
    expect(planRolling(rolling(3, 1, 0), [])).toEqual({ create: 3, createHash: "new", remove: [] });
  });

  it("scales the new template down unscheduled, then unready, then newest pods first", () => {
    const pods = [
      pod("a", "new"),
      pod("b", "new", { ready: false, available: false }),
      pod("c", "new"),
      pod("d", "new", { nodeId: null, phase: "Pending", ready: false, available: false }),
    ];
    expect(planRolling(rolling(2, 1, 0), pods).remove).toEqual(["d", "b"]);
    expect(planRolling(rolling(1, 1, 0), pods).remove).toEqual(["d", "b", "c"]);
  });

  it("with one replica and maxUnavailable 0, surges one new pod and keeps the old one until the new one is available", () => {
    expect(planRolling(rolling(1, 1, 0), [pod("old", "old")])).toEqual({
      create: 1,
      createHash: "new",
      remove: [],
    });
    const unready = pod("n", "new", { ready: false, available: false });
    expect(planRolling(rolling(1, 1, 0), [pod("old", "old"), unready]).remove).toEqual([]);
    // Ready but not yet for minReadySeconds: still not available, the old pod stays.
    const young = pod("n", "new", { available: false });
    expect(planRolling(rolling(1, 1, 0), [pod("old", "old"), young]).remove).toEqual([]);
    expect(planRolling(rolling(1, 1, 0), [pod("old", "old"), pod("n", "new")]).remove).toEqual(["old"]);
  });

  it("never lets the available pods drop below replicas - maxUnavailable, whatever the new pods do", () => {
    const old = Array.from({ length: 4 }, (_, i) => pod(`o${i}`, "old"));
    const first = planRolling(rolling(4, 1, 1), old);
    expect(first.create).toBe(1);
    expect(first.remove).toHaveLength(1);
    // The new pods never become ready: the old ones keep 3 available.
    const stuck = [...old.slice(1), pod("n1", "new", { ready: false, available: false })];
    const second = planRolling(rolling(4, 1, 1), stuck);
    expect(second.create).toBe(1);
    expect(second.remove).toEqual([]);
  });

  it("removes unavailable old pods first, from the oldest revision", () => {
    const pods = [
      pod("o1", "old", { revision: 1 }),
      pod("o2", "mid", { revision: 2, ready: false, available: false }),
      pod("o3", "old", { revision: 1, ready: false, available: false }),
      pod("n1", "new", { revision: 3 }),
    ];
    expect(planRolling(rolling(3, 0, 1), pods).remove).toEqual(["o3", "o2"]);
  });

  it("recreates: every old pod first, then the new ones once none is left running", () => {
    const old = [pod("o1", "old"), pod("o2", "old")];
    expect(planRecreate({ replicas: 2, hash: "new" }, old, true)).toEqual({
      create: 0,
      createHash: null,
      remove: ["o1", "o2"],
    });
    expect(planRecreate({ replicas: 2, hash: "new" }, [], true).create).toBe(0);
    expect(planRecreate({ replicas: 2, hash: "new" }, [], false)).toEqual({
      create: 2,
      createHash: "new",
      remove: [],
    });
  });

  it("while paused only scales: the busiest template grows, the oldest revisions shrink first", () => {
    const pods = [pod("o1", "old"), pod("o2", "old"), pod("n1", "new")];
    expect(planScale(5, "new", pods)).toEqual({ create: 2, createHash: "old", remove: [] });
    expect(planScale(1, "new", pods).remove).toEqual(["o2", "o1"]);
    expect(planScale(2, null, [])).toEqual({ create: 0, createHash: null, remove: [] });
    expect(planScale(2, "new", [])).toEqual({ create: 2, createHash: "new", remove: [] });
  });

  it("does nothing when the deployment matches its spec", () => {
    expect(planRolling(rolling(2, 1, 0), [pod("a", "new"), pod("b", "new")])).toEqual({
      create: 0,
      createHash: null,
      remove: [],
    });
  });
});
