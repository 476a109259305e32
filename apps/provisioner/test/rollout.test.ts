import { describe, expect, it } from "vitest";
import { type LivePod, planRollout, resolveIntOrPercent } from "../src/controllers/rollout";

const pod = (id: string, templateHash: string, ready = true, seq = 0, scheduled = true): LivePod => ({
  id,
  templateHash,
  ready,
  seq,
  scheduled,
});
const spec = (
  replicas: number,
  over: Partial<{ maxSurge: number | string; maxUnavailable: number | string }> = {},
) => ({
  replicas,
  templateHash: "new",
  maxSurge: "25%",
  maxUnavailable: "25%",
  ...over,
});

describe("rollout arithmetic", () => {
  it("resolves percentages as Kubernetes does: surge rounds up, unavailable rounds down", () => {
    expect(resolveIntOrPercent("25%", 10, true)).toBe(3);
    expect(resolveIntOrPercent("25%", 10, false)).toBe(2);
    expect(resolveIntOrPercent("25%", 1, true)).toBe(1);
    expect(resolveIntOrPercent("25%", 1, false)).toBe(0);
    expect(resolveIntOrPercent(4, 10, true)).toBe(4);
  });

  it("creates the missing replicas of a new deployment", () => {
    expect(planRollout(spec(3), [])).toEqual({ create: 3, remove: [] });
  });

  it("scales down unscheduled, then unready, then newest pods first", () => {
    const pods = [
      pod("a", "new", true, 1),
      pod("b", "new", false, 2),
      pod("c", "new", true, 3),
      pod("d", "new", true, 4, false),
    ];
    expect(planRollout(spec(2), pods)).toEqual({ create: 0, remove: ["d", "b"] });
    expect(planRollout(spec(1), pods).remove).toEqual(["d", "b", "c"]);
  });

  it("with one replica, surges one new pod and keeps the old one until the new one is ready", () => {
    expect(planRollout(spec(1), [pod("old", "old")])).toEqual({ create: 1, remove: [] });
    expect(planRollout(spec(1), [pod("old", "old"), pod("new1", "new", false)])).toEqual({
      create: 0,
      remove: [],
    });
    expect(planRollout(spec(1), [pod("old", "old"), pod("new1", "new", true)])).toEqual({
      create: 0,
      remove: ["old"],
    });
  });

  it("never lets availability drop below replicas - maxUnavailable", () => {
    const old = Array.from({ length: 4 }, (_, i) => pod(`o${i}`, "old", true, i));
    const step = planRollout(spec(4, { maxSurge: 1, maxUnavailable: 1 }), old);
    expect(step.create).toBe(1);
    expect(step.remove).toHaveLength(1);
  });

  it("removes old pods that are not ready without waiting", () => {
    const step = planRollout(spec(2, { maxUnavailable: 0 }), [
      pod("o1", "old", false),
      pod("o2", "old", true),
    ]);
    expect(step.remove).toEqual(["o1"]);
  });

  it("surges one pod when both maxSurge and maxUnavailable are zero", () => {
    expect(
      planRollout(spec(2, { maxSurge: 0, maxUnavailable: 0 }), [pod("o1", "old"), pod("o2", "old")]).create,
    ).toBe(1);
  });

  it("does nothing when the deployment matches its spec", () => {
    expect(planRollout(spec(2), [pod("a", "new"), pod("b", "new")])).toEqual({ create: 0, remove: [] });
  });
});
