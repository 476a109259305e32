import { describe, expect, it } from "vitest";
import { Backoff, goDuration } from "./backoff";

describe("kubelet's restart back-off", () => {
  it("restarts at once the first time, then waits 10 s doubling to 5 min", () => {
    let now = 0;
    const b = new Backoff(() => now);
    const waits: number[] = [];
    for (let i = 0; i < 8; i++) {
      const finished = now;
      if (b.inBackOffSince("p/c", finished)) {
        now = b.until("p/c", finished);
        expect(b.inBackOffSince("p/c", finished)).toBe(false);
      }
      waits.push(now - finished);
      b.next("p/c", finished);
      now += 1_000; // it runs a second, then fails again
    }
    expect(waits).toEqual([0, 10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000]);
  });

  it("starts over after the container ran for 10 minutes since the back-off last grew", () => {
    let now = 0;
    const b = new Backoff(() => now);
    b.next("k", 0);
    b.next("k", 0);
    expect(b.get("k")).toBe(20_000);
    now = 601_000;
    expect(b.inBackOffSince("k", now)).toBe(false);
    b.next("k", now);
    expect(b.get("k")).toBe(10_000);
  });

  it("says durations as Go does", () => {
    expect([10_000, 20_000, 80_000, 160_000, 300_000, 3_723_000].map(goDuration)).toEqual([
      "10s",
      "20s",
      "1m20s",
      "2m40s",
      "5m0s",
      "1h2m3s",
    ]);
  });
});
