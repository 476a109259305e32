import type { ContainerStatus } from "@berth/protocol";
import { describe, expect, it } from "vitest";
import type { ContainerInfo } from "../runtime";
import { containerStatusOf, podPhase, podReason, terminationOf } from "./status";

const info = (extra: Partial<ContainerInfo> = {}): ContainerInfo => ({
  id: "c1",
  name: "berth-pod_1-web",
  image: "img",
  labels: { "berth.restart-count": "2" },
  state: "exited",
  exitCode: 1,
  startedAt: "2026-01-01T00:00:00.123456789Z",
  finishedAt: "2026-01-01T00:00:05Z",
  restartCount: 0,
  ports: [],
  oomKilled: false,
  ipAddress: null,
  sandboxId: null,
  imageId: "sha256:abc",
  ...extra,
});
const running: ContainerStatus = {
  name: "a",
  ready: true,
  started: true,
  restartCount: 0,
  state: { running: { startedAt: null } },
  lastState: {},
};
const ended = (exitCode: number): ContainerStatus => ({
  ...running,
  ready: false,
  state: {
    terminated: {
      exitCode,
      reason: exitCode === 0 ? "Completed" : "Error",
      startedAt: null,
      finishedAt: null,
    },
  },
});
const backingOff = (exitCode: number): ContainerStatus => ({
  ...running,
  ready: false,
  state: { waiting: { reason: "CrashLoopBackOff" } },
  lastState: ended(exitCode).state,
});
const waiting: ContainerStatus = {
  ...running,
  ready: false,
  state: { waiting: { reason: "ContainerCreating" } },
};

describe("a container's status in Kubernetes' shape", () => {
  it("says how a run ended: OOMKilled, Completed or Error, with the signal of a kill", () => {
    expect(terminationOf(info({ exitCode: 137, oomKilled: true }))).toMatchObject({
      reason: "OOMKilled",
      signal: 9,
    });
    expect(terminationOf(info({ exitCode: 0 }))).toMatchObject({ reason: "Completed", exitCode: 0 });
    expect(terminationOf(info({ exitCode: 1 }))).toEqual({
      exitCode: 1,
      reason: "Error",
      startedAt: "2026-01-01T00:00:00.123Z",
      finishedAt: "2026-01-01T00:00:05.000Z",
      containerID: "docker://c1",
    });
  });

  it("shows a restart in back-off as waiting, with the run that ended as its last state", () => {
    const s = containerStatusOf({
      name: "web",
      image: "img",
      init: false,
      current: info(),
      previous: null,
      waiting: {
        reason: "CrashLoopBackOff",
        message: "back-off 10s restarting failed container=web pod=p_ns(u)",
      },
      starting: false,
      started: false,
      ready: false,
    });
    expect(s).toMatchObject({
      restartCount: 2,
      ready: false,
      state: { waiting: { reason: "CrashLoopBackOff" } },
      lastState: { terminated: { exitCode: 1, reason: "Error" } },
    });
  });

  it("is not ready before its startup probe passed, even when running", () => {
    const s = containerStatusOf({
      name: "web",
      image: "img",
      init: false,
      current: info({ state: "running", exitCode: null, finishedAt: null }),
      previous: info({ id: "c0" }),
      waiting: null,
      starting: false,
      started: false,
      ready: true,
    });
    expect(s).toMatchObject({
      ready: false,
      started: false,
      lastState: { terminated: { containerID: "docker://c0" } },
    });
    expect(s.state.running).toBeDefined();
  });
});

describe("the pod's phase (kubelet's getPhase)", () => {
  it("is Pending while an init container or a container has not started", () => {
    expect(podPhase("Always", [waiting], [waiting], false)).toBe("Pending");
    expect(podPhase("Always", [ended(0)], [waiting], false)).toBe("Pending");
  });
  it("is Running while a container runs, or restarts under Always", () => {
    expect(podPhase("Never", [], [running, ended(1)], false)).toBe("Running");
    expect(podPhase("Always", [], [backingOff(1)], false)).toBe("Running");
    expect(podPhase("Always", [], [ended(0)], false)).toBe("Running");
  });
  it("ends Succeeded when all exit 0, Failed under Never when one failed, Running under OnFailure while it retries", () => {
    expect(podPhase("Never", [], [ended(0), ended(0)], false)).toBe("Succeeded");
    expect(podPhase("OnFailure", [], [ended(0)], false)).toBe("Succeeded");
    expect(podPhase("Never", [], [ended(0), ended(2)], false)).toBe("Failed");
    expect(podPhase("OnFailure", [], [backingOff(2)], false)).toBe("Running");
  });
  it("fails when an init container failed under Never, whatever the containers", () => {
    expect(podPhase("Never", [ended(1)], [waiting], false)).toBe("Failed");
    expect(podPhase("OnFailure", [backingOff(1)], [waiting], false)).toBe("Pending");
  });
  it("of a terminal pod follows its containers' exit codes, whatever the policy", () => {
    expect(podPhase("Always", [], [ended(0)], true)).toBe("Succeeded");
    expect(podPhase("Always", [], [ended(137)], true)).toBe("Failed");
  });
});

describe("the pod's reason, as kubectl's STATUS column says it", () => {
  it("names an init container's trouble first", () => {
    const initBackOff = { ...backingOff(1), name: "init" };
    expect(podReason("Pending", [initBackOff], [waiting])).toEqual({ reason: "Init:CrashLoopBackOff" });
    expect(podReason("Failed", [ended(1)], [waiting])).toEqual({ reason: "Init:Error" });
    expect(podReason("Pending", [{ ...running }], [waiting])).toEqual({ reason: "PodInitializing" });
  });
  it("else a container's waiting reason with its message, else how a finished pod ended", () => {
    const pull = { ...waiting, state: { waiting: { reason: "ErrImagePull", message: "could not pull" } } };
    expect(podReason("Pending", [], [waiting, pull])).toEqual({
      reason: "ErrImagePull",
      message: "could not pull",
    });
    expect(podReason("Running", [], [running, backingOff(1)])).toEqual({ reason: "CrashLoopBackOff" });
    expect(podReason("Running", [], [running])).toBeNull();
    expect(podReason("Succeeded", [], [ended(0)])).toEqual({ reason: "Completed" });
  });
});
