import { describe, expect, it } from "vitest";
import { FairSemaphore, SemaphoreTimeoutError } from "../src/fair-semaphore";

const tick = () => new Promise((r) => setImmediate(r));

describe("FairSemaphore", () => {
  it("never lets one key hold more than its share, nor all keys more than the capacity", async () => {
    const s = new FairSemaphore({ capacity: 4, perKey: 2 });
    const a1 = await s.acquire("a");
    await s.acquire("a");
    let third = false;
    void s.acquire("a").then(() => {
      third = true;
    });
    await tick();
    expect(third).toBe(false);
    expect(s.inUse("a")).toBe(2);
    await s.acquire("b");
    await s.acquire("b");
    expect(s.inUse()).toBe(4);
    a1();
    await tick();
    expect(third).toBe(true);
    expect(s.inUse()).toBe(4);
  });

  it("serves waiting keys in turn: a key with many waiters does not starve one with a single waiter", async () => {
    const s = new FairSemaphore({ capacity: 1, perKey: 1 });
    const first = await s.acquire("flood");
    const order: string[] = [];
    const call = (key: string) =>
      s.acquire(key).then(async (release) => {
        order.push(key);
        await tick();
        release();
      });
    const calls = [...Array.from({ length: 5 }, () => call("flood")), call("quiet")];
    first();
    await Promise.all(calls);
    // The quiet tenant's one call comes right after the first waiting flood call, not sixth.
    expect(order).toEqual(["flood", "quiet", "flood", "flood", "flood", "flood"]);
  });

  it("gives up after the timeout and forgets the waiter", async () => {
    const s = new FairSemaphore({ capacity: 1, perKey: 1 });
    const held = await s.acquire("a");
    await expect(s.acquire("a", { timeoutMs: 20 })).rejects.toBeInstanceOf(SemaphoreTimeoutError);
    held();
    const again = await s.acquire("a", { timeoutMs: 20 });
    expect(s.inUse("a")).toBe(1);
    again();
    expect(s.inUse()).toBe(0);
  });

  it("lets an urgent call of a key go ahead of its waiting plain calls, after its urgent ones", async () => {
    const s = new FairSemaphore({ capacity: 1, perKey: 1 });
    const first = await s.acquire("tenant");
    const order: string[] = [];
    const call = (name: string, urgent = false) =>
      s.acquire("tenant", { urgent }).then(async (release) => {
        order.push(name);
        await tick();
        release();
      });
    const calls = [
      call("join-1"),
      call("join-2"),
      call("lease-1", true),
      call("join-3"),
      call("lease-2", true),
    ];
    first();
    await Promise.all(calls);
    expect(order).toEqual(["lease-1", "lease-2", "join-1", "join-2", "join-3"]);
  });

  it("releases once even when release is called twice", async () => {
    const s = new FairSemaphore({ capacity: 2, perKey: 2 });
    const r = await s.acquire("a");
    await s.acquire("a");
    r();
    r();
    expect(s.inUse("a")).toBe(1);
  });
});
