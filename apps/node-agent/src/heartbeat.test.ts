import type { HeartbeatReply } from "@berth/protocol";
import { describe, expect, it } from "vitest";
import { Heartbeat } from "./heartbeat";

const reply: HeartbeatReply = { nodeId: "node_1", leave: false, heartbeatIntervalMs: 20 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A heartbeat every 20 ms whose sends are counted; `fail` makes them fail, `held` leaves them out. */
function beating(o: { held: () => boolean; fail?: () => boolean }) {
  let sent = 0;
  const hb = new Heartbeat({
    intervalMs: 20,
    send: async () => {
      sent++;
      if (o.fail?.()) throw new Error("unreachable");
      return reply;
    },
    onReply: () => {},
    onError: () => {},
    skip: (since) => since < 1_000 && o.held(),
  });
  hb.start();
  return { hb, sent: () => sent };
}

describe("the heartbeat", () => {
  it("beats every interval while nothing holds the lease for it", async () => {
    const { hb, sent } = beating({ held: () => false });
    await sleep(210);
    await hb.stop();
    expect(sent()).toBeGreaterThanOrEqual(7);
  });

  it("leaves beats out while the lease is held (the first beat is always sent), and beats again within an interval of it ending", async () => {
    let held = true;
    const { hb, sent } = beating({ held: () => held });
    await sleep(200);
    expect(sent()).toBe(1);
    held = false;
    await sleep(60);
    expect(sent()).toBeGreaterThanOrEqual(2);
    await hb.stop();
  });

  it("is never left out after a failed beat, until one is answered", async () => {
    let held = true;
    let failing = false;
    const { hb, sent } = beating({ held: () => held, fail: () => failing });
    await sleep(100);
    expect(sent()).toBe(1);
    // One beat goes out (the lease not held) and fails; the lease held again does not stop the next.
    failing = true;
    held = false;
    while (sent() < 2) await sleep(5);
    held = true;
    const failed = sent();
    await sleep(200);
    expect(sent()).toBeGreaterThanOrEqual(failed + 3);
    // Answered again: left out again.
    failing = false;
    await sleep(100);
    const settled = sent();
    await sleep(200);
    expect(sent()).toBe(settled);
    await hb.stop();
  });
});
