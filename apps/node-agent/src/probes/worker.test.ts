import type { Probe } from "@berth/protocol";
import { describe, expect, it } from "vitest";
import { createDockerEngineRuntime } from "../runtime";
import type { CheckOutcome } from "./check";
import { ProbeSet } from "./worker";

/** Probe workers' rules with checks whose results the test decides (the checks themselves are tested in check.test.ts). */
const probe = (extra: Partial<Probe> = {}): Probe => ({
  exec: { command: ["x"] },
  initialDelaySeconds: 0,
  periodSeconds: 1,
  timeoutSeconds: 1,
  successThreshold: 1,
  failureThreshold: 3,
  ...extra,
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(what: string, ok: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

function probes(
  p: { readiness?: Probe; liveness?: Probe; startup?: Probe },
  results: Record<string, () => CheckOutcome["result"]>,
  initial?: { started: boolean; ready: boolean },
) {
  const seen = { failures: [] as string[], events: [] as string[], checks: [] as string[] };
  const set = new ProbeSet({
    runtime: createDockerEngineRuntime({ url: "unix:///nonexistent.sock" }),
    target: { containerId: "c", address: null, published: new Map(), podAddress: "10.0.0.1" },
    startedAt: Date.now(),
    probes: p,
    now: Date.now,
    onChange: () => {},
    onFailure: (kind) => seen.failures.push(kind),
    onEvent: (_t, reason, message) => seen.events.push(`${reason}: ${message}`),
    check: async (pr) => {
      const kind = pr === p.readiness ? "readiness" : pr === p.liveness ? "liveness" : "startup";
      seen.checks.push(kind);
      return { result: results[kind]?.() ?? "success", output: "nope" };
    },
    initial,
  });
  return { set, seen };
}

describe("probe workers", () => {
  it("start not ready; become ready after successThreshold passes in a row, unready after failureThreshold fails", async () => {
    let ok = true;
    const { set, seen } = probes(
      { readiness: probe({ successThreshold: 2, failureThreshold: 2 }) },
      { readiness: () => (ok ? "success" : "failure") },
    );
    expect(set.ready).toBe(false);
    await until("one check", () => seen.checks.length === 1);
    expect(set.ready).toBe(false); // one success of two
    await until("ready", () => set.ready);
    expect(seen.checks.length).toBe(2);
    ok = false;
    const before = seen.checks.length;
    await until("a failed check", () => seen.checks.length === before + 1);
    expect(set.ready).toBe(true); // one failure of two
    await until("unready", () => !set.ready);
    expect(seen.checks.length).toBe(before + 2);
    expect(seen.events).toContain("Unhealthy: Readiness probe failed: nope");
    set.stop();
  }, 10_000);

  it("hold liveness and readiness until the startup probe passes, then stop probing startup", async () => {
    let started = false;
    const { set, seen } = probes(
      { startup: probe(), liveness: probe(), readiness: probe() },
      { startup: () => (started ? "success" : "failure") },
    );
    await until("two startup checks", () => seen.checks.length >= 2);
    expect(seen.checks.every((c) => c === "startup")).toBe(true);
    expect(set.started).toBe(false);
    started = true;
    await until("started", () => set.started);
    await until("ready", () => set.ready); // readiness is probed at once once started
    const startupChecks = seen.checks.filter((c) => c === "startup").length;
    await until("liveness probed", () => seen.checks.includes("liveness"));
    await sleep(1_100);
    expect(seen.checks.filter((c) => c === "startup").length).toBe(startupChecks);
    set.stop();
  }, 10_000);

  it("report a liveness failure once failureThreshold is reached, then hold until a new instance", async () => {
    const { set, seen } = probes({ liveness: probe({ failureThreshold: 2 }) }, { liveness: () => "failure" });
    await until("failed", () => set.failed !== null);
    expect(seen.failures).toEqual(["liveness"]);
    expect(seen.checks.length).toBe(2);
    await sleep(1_500);
    expect(seen.checks.length).toBe(2);
    set.stop();
  }, 10_000);

  it("wait initialDelaySeconds from the start before the first check counts", async () => {
    const { set, seen } = probes({ readiness: probe({ initialDelaySeconds: 2 }) }, {});
    await sleep(1_500);
    expect(seen.checks).toEqual([]);
    await until("ready", () => set.ready);
    set.stop();
  }, 10_000);

  it("resume what the agent before them settled: ready at once, unready only after failureThreshold fails", async () => {
    let ok = true;
    const { set, seen } = probes(
      { startup: probe(), readiness: probe({ successThreshold: 3, failureThreshold: 2 }) },
      { readiness: () => (ok ? "success" : "failure") },
      { started: true, ready: true },
    );
    expect(set.started).toBe(true);
    expect(set.ready).toBe(true);
    ok = false;
    await until("a failed check", () => seen.checks.length === 1);
    expect(set.ready).toBe(true); // one failure of two
    await until("unready", () => !set.ready);
    // The startup probe had passed: it is not run again.
    expect(seen.checks.every((c) => c === "readiness")).toBe(true);
    set.stop();
  }, 10_000);

  it("take no readiness from before while startup had not passed", () => {
    const { set } = probes({ startup: probe(), readiness: probe() }, {}, { started: false, ready: true });
    expect(set.started).toBe(false);
    expect(set.ready).toBe(false);
    set.stop();
  });
});
