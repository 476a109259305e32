import type { ContainerStatus } from "@berth/protocol";
import { describe, expect, it } from "vitest";
import { conditionsOf, sameJson } from "../src/services/node-pod-status";

const template = {
  containers: [{ name: "web" }, { name: "side" }],
  initContainers: [{ name: "setup" }],
} as unknown as Parameters<typeof conditionsOf>[0]["template"];
const now = new Date("2026-01-01T00:01:00Z");
const scheduledAt = new Date("2026-01-01T00:00:00Z");
const status = (name: string, extra: Partial<ContainerStatus> = {}): ContainerStatus => ({
  name,
  ready: true,
  started: true,
  restartCount: 0,
  state: { running: { startedAt: null } },
  lastState: {},
  ...extra,
});
const done = (name: string, exitCode = 0) =>
  status(name, {
    ready: false,
    state: {
      terminated: { exitCode, reason: exitCode ? "Error" : "Completed", startedAt: null, finishedAt: null },
    },
  });
const view = (c: ReturnType<typeof conditionsOf>) => c.map((x) => [x.type, x.status, x.reason, x.message]);

describe("pod conditions from the node's container statuses (kubelet's)", () => {
  it("are all True for a pod whose init container succeeded and whose containers are ready", () => {
    const c = conditionsOf(
      { template, conditions: [], scheduledAt },
      [done("setup")],
      [status("web"), status("side")],
      "Running",
      true,
      now,
    );
    expect(view(c)).toEqual([
      ["PodScheduled", "True", "", ""],
      ["Initialized", "True", "", ""],
      ["ContainersReady", "True", "", ""],
      ["Ready", "True", "", ""],
    ]);
    expect(c[0]?.lastTransitionTime).toBe(scheduledAt.toISOString());
  });

  it("name what is missing: incomplete init containers, unready containers", () => {
    const waiting = status("web", { ready: false, state: { waiting: { reason: "PodInitializing" } } });
    const c = conditionsOf(
      { template, conditions: [], scheduledAt },
      [status("setup", { ready: false })],
      [waiting],
      "Pending",
      false,
      now,
    );
    expect(view(c).slice(1)).toEqual([
      ["Initialized", "False", "ContainersNotInitialized", "containers with incomplete status: [setup]"],
      [
        "ContainersReady",
        "False",
        "ContainersNotReady",
        "containers with unknown status: [side], containers with unready status: [web]",
      ],
      [
        "Ready",
        "False",
        "ContainersNotReady",
        "containers with unknown status: [side], containers with unready status: [web]",
      ],
    ]);
  });

  it("say PodCompleted once the pod succeeded", () => {
    const c = conditionsOf(
      { template, conditions: [], scheduledAt },
      [done("setup")],
      [done("web"), done("side")],
      "Succeeded",
      false,
      now,
    );
    expect(view(c).slice(1)).toEqual([
      ["Initialized", "True", "PodCompleted", ""],
      ["ContainersReady", "False", "PodCompleted", ""],
      ["Ready", "False", "PodCompleted", ""],
    ]);
  });

  it("keep their transition time until their status flips", () => {
    const first = conditionsOf(
      { template, conditions: [], scheduledAt },
      [done("setup")],
      [status("web"), status("side")],
      "Running",
      true,
      now,
    );
    const later = new Date("2026-01-01T00:05:00Z");
    const same = conditionsOf(
      { template, conditions: first, scheduledAt },
      [done("setup")],
      [status("web"), status("side")],
      "Running",
      true,
      later,
    );
    expect(same).toEqual(first);
    const flipped = conditionsOf(
      { template, conditions: first, scheduledAt },
      [done("setup")],
      [status("web", { ready: false }), status("side")],
      "Running",
      false,
      later,
    );
    expect(flipped.find((x) => x.type === "Ready")?.lastTransitionTime).toBe(later.toISOString());
    expect(flipped.find((x) => x.type === "Initialized")?.lastTransitionTime).toBe(now.toISOString());
  });

  it("follow the pod's readiness for reports without container statuses (older agents)", () => {
    const c = conditionsOf({ template, conditions: [], scheduledAt }, [], [], "Running", true, now);
    expect(c.every((x) => x.status === "True")).toBe(true);
  });
});

describe("sameJson", () => {
  it("ignores the order of object keys, as jsonb does not keep it", () => {
    expect(sameJson({ a: 1, b: [{ x: 1, y: 2 }] }, { b: [{ y: 2, x: 1 }], a: 1 })).toBe(true);
    expect(sameJson({ a: 1 }, { a: 2 })).toBe(false);
    expect(sameJson([1, 2], [2, 1])).toBe(false);
  });
});
