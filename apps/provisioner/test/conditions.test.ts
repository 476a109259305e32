import type { Condition } from "@berth/db";
import { describe, expect, it } from "vitest";
import { removeCondition, sameConditions, setCondition } from "../src/controllers/conditions";

const t0 = new Date("2026-01-01T00:00:00Z");
const t1 = new Date("2026-01-01T00:05:00Z");
const failing = { type: "ReplicaFailure", status: "True", reason: "ReconcileError", message: "a" } as const;

describe("status conditions", () => {
  it("stamps a new condition with the time it appeared", () => {
    expect(setCondition([], failing, t0)).toEqual([{ ...failing, lastTransitionTime: t0.toISOString() }]);
  });

  it("keeps lastTransitionTime while the status stays, even when the message changes", () => {
    const once = setCondition([], failing, t0);
    expect(setCondition(once, { ...failing, message: "b" }, t1)).toEqual([
      { ...failing, message: "b", lastTransitionTime: t0.toISOString() },
    ]);
  });

  it("moves lastTransitionTime when the status flips", () => {
    const once = setCondition([], failing, t0);
    expect(setCondition(once, { ...failing, status: "False" }, t1)[0]?.lastTransitionTime).toBe(
      t1.toISOString(),
    );
  });

  it("replaces a condition of the same type in place and leaves the others", () => {
    const other: Condition = {
      type: "Available",
      status: "True",
      reason: "",
      message: "",
      lastTransitionTime: "x",
    };
    const list = setCondition([other], failing, t0);
    expect(list.map((c) => c.type)).toEqual(["Available", "ReplicaFailure"]);
    expect(removeCondition(list, "ReplicaFailure")).toEqual([other]);
  });

  it("compares conditions field by field, whatever the order of their keys", () => {
    const a = setCondition([], failing, t0);
    const reordered = [JSON.parse(JSON.stringify({ lastTransitionTime: t0.toISOString(), ...failing }))];
    expect(sameConditions(a, reordered)).toBe(true);
    expect(sameConditions(a, setCondition(a, { ...failing, message: "b" }, t0))).toBe(false);
  });
});
