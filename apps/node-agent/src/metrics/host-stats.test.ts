import { describe, expect, it } from "vitest";
import { busyNanosOf, networkOf, readHostCounters, workingSetOf } from "./host-stats";

describe("the node's counters", () => {
  it("counts busy CPU time, not idle or iowait, in nanoseconds", () => {
    const stat = "cpu  100 5 50 1000 30 2 3 0 0 0\ncpu0 50 2 25 500 15 1 1 0 0 0\n";
    expect(busyNanosOf(stat)).toBe((100 + 5 + 50 + 2 + 3) * 10_000_000);
  });

  it("takes memory in use as MemTotal less MemAvailable", () => {
    expect(workingSetOf("MemTotal:       2000 kB\nMemFree:  100 kB\nMemAvailable:    500 kB\n")).toBe(
      1500 * 1024,
    );
  });

  it("sums received and sent bytes over every interface but loopback", () => {
    const dev = [
      "Inter-|   Receive                                                |  Transmit",
      " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed",
      "    lo: 999 1 0 0 0 0 0 0 999 1 0 0 0 0 0 0",
      "  eth0: 1000 10 0 0 0 0 0 0 200 2 0 0 0 0 0 0",
      "  eth1: 5 1 0 0 0 0 0 0 7 1 0 0 0 0 0 0",
    ].join("\n");
    expect(networkOf(dev)).toEqual({ rxBytes: 1005, txBytes: 207 });
  });

  it("reads this machine's /proc", async () => {
    const a = await readHostCounters();
    expect(a.cpuNanos).toBeGreaterThan(0);
    expect(a.memoryBytes).toBeGreaterThan(0);
    const b = await readHostCounters();
    expect(b.cpuNanos).toBeGreaterThanOrEqual(a.cpuNanos);
  });
});
