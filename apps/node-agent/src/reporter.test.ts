import type { PodEvent, PodReport, SyncReply, SyncRequest } from "@berth/protocol";
import { afterEach, describe, expect, it } from "vitest";
import { StatusReporter } from "./reporter";

/** The reporter's timing against a control plane that records what it took (no network here). */
let reporter: StatusReporter | undefined;
afterEach(() => reporter?.stop());

const pod = (state: PodReport["state"]): PodReport => ({ podId: "pod_a", state, restarts: 0, ready: true });
const event: PodEvent = {
  podId: "pod_a",
  type: "Normal",
  reason: "Started",
  message: "Started container web",
  at: new Date(0).toISOString(),
};

function reporterOf(o: { build: () => SyncRequest; fail?: () => boolean }) {
  let now = 0;
  const sent: SyncRequest[] = [];
  const r = new StatusReporter({
    intervalMs: 1_000_000, // looked at only when the test says
    unchangedIntervalMs: 60_000,
    now: () => now,
    build: async () => o.build(),
    send: async (body) => {
      if (o.fail?.()) throw new Error("the control plane is unreachable");
      sent.push(body);
      return {
        nodeId: "node_a",
        leave: false,
        heartbeatIntervalMs: 2_000,
        pods: [],
        credential: null,
      } as SyncReply;
    },
    onReply: () => {},
    onError: () => {},
  });
  const advance = (ms: number) => {
    now += ms;
  };
  return { r, sent, advance };
}

describe("the status reporter", () => {
  it("sends an unchanged report only every unchangedIntervalMs, and a changed one at once", async () => {
    let state: PodReport["state"] = "running";
    const t = reporterOf({ build: () => ({ pods: [pod(state)] }) });
    reporter = t.r;
    await t.r.start();
    expect(t.sent).toHaveLength(1);
    t.advance(10_000);
    await t.r.report();
    t.advance(10_000);
    await t.r.report();
    expect(t.sent).toHaveLength(1);
    expect(t.r.skipped).toBe(2);
    state = "exited";
    await t.r.report();
    expect(t.sent.map((b) => b.pods[0]?.state)).toEqual(["running", "exited"]);
    t.advance(60_000);
    await t.r.report();
    expect(t.sent).toHaveLength(3);
  });

  it("never holds back events, and sends again what a failed report could not deliver", async () => {
    let events: PodEvent[] = [];
    let failing = false;
    let state: PodReport["state"] = "running";
    const t = reporterOf({
      build: () => ({ pods: [pod(state)], ...(events.length ? { events } : {}) }),
      fail: () => failing,
    });
    reporter = t.r;
    await t.r.start();
    events = [event];
    await t.r.report();
    expect(t.sent[1]?.events).toEqual([event]);
    events = [];
    failing = true;
    state = "exited";
    await t.r.report();
    expect(t.r.failures).toBe(1);
    failing = false;
    await t.r.report();
    expect(t.sent.map((b) => b.pods[0]?.state)).toEqual(["running", "running", "exited"]);
  });
});
