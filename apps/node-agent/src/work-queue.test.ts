import { describe, expect, it } from "vitest";
import { KeyedWorkQueue } from "./work-queue";

const tick = (ms = 5) => new Promise((r) => setTimeout(r, ms));

describe("KeyedWorkQueue", () => {
  it("runs at most `concurrency` keys at once", async () => {
    let now = 0;
    let peak = 0;
    const q = new KeyedWorkQueue(
      3,
      async () => {
        peak = Math.max(peak, ++now);
        await tick(10);
        now--;
      },
      () => {},
    );
    for (let i = 0; i < 20; i++) q.enqueue(`k${i}`);
    await q.idle();
    expect(peak).toBe(3);
  });

  it("never runs one key twice at once, and runs it once more when asked while it runs", async () => {
    const runs: string[] = [];
    let inFlight = 0;
    let overlapped = false;
    const q = new KeyedWorkQueue(
      4,
      async (key) => {
        if (++inFlight > 1) overlapped = true;
        runs.push(key);
        await tick(10);
        inFlight--;
      },
      () => {},
    );
    q.enqueue("pod");
    await tick(1);
    q.enqueue("pod");
    q.enqueue("pod");
    q.enqueue("pod");
    await q.idle();
    expect(overlapped).toBe(false);
    expect(runs).toEqual(["pod", "pod"]);
  });

  it("keeps going when one key's work fails, and reports the failure", async () => {
    const done: string[] = [];
    const failed: string[] = [];
    const q = new KeyedWorkQueue(
      2,
      async (key) => {
        await tick(2);
        if (key === "bad") throw new Error("boom");
        done.push(key);
      },
      (key) => failed.push(key),
    );
    for (const k of ["a", "bad", "b", "c"]) q.enqueue(k);
    await q.idle();
    expect(failed).toEqual(["bad"]);
    expect(done.sort()).toEqual(["a", "b", "c"]);
  });

  it("a slow key does not hold back the others", async () => {
    const finished: string[] = [];
    const q = new KeyedWorkQueue(
      2,
      async (key) => {
        await tick(key === "slow" ? 200 : 5);
        finished.push(key);
      },
      () => {},
    );
    for (const k of ["slow", "a", "b", "c", "d"]) q.enqueue(k);
    await tick(100);
    expect(finished).toEqual(["a", "b", "c", "d"]);
    await q.idle();
  });

  it("stop drops what waits and waits for what runs", async () => {
    const started: string[] = [];
    const q = new KeyedWorkQueue(
      1,
      async (key) => {
        started.push(key);
        await tick(20);
      },
      () => {},
    );
    q.enqueue("a");
    q.enqueue("b");
    await tick(1);
    await q.stop();
    q.enqueue("c");
    await tick(30);
    expect(started).toEqual(["a"]);
  });
});
