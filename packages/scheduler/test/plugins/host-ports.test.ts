import { describe, expect, it } from "vitest";
import { hostPorts, NO_FREE_PORTS, PORTS_RESERVED } from "../../src/plugins/host-ports";
import { schedule } from "../../src/schedule";
import { bound, node, pod, verdict } from "../fixtures";

describe("HostPorts filter", () => {
  it.each([
    { name: "a pod without ports skips the filter", wanted: 0, range: [1, 0], held: [], expected: "skipped" },
    { name: "enough free ports", wanted: 3, range: [100, 102], held: [], expected: null },
    { name: "one port short", wanted: 4, range: [100, 102], held: [], expected: NO_FREE_PORTS },
    {
      name: "ports held by bound pods are not free",
      wanted: 3,
      range: [100, 102],
      held: [101],
      expected: NO_FREE_PORTS,
    },
    {
      name: "a held port outside the range costs nothing",
      wanted: 3,
      range: [100, 102],
      held: [99, 103],
      expected: null,
    },
    { name: "a port held twice counts once", wanted: 2, range: [100, 102], held: [100, 100], expected: null },
    {
      name: "an empty range (min > max) has no ports",
      wanted: 1,
      range: [5, 4],
      held: [],
      expected: NO_FREE_PORTS,
    },
  ])("$name", ({ wanted, range, held, expected }) => {
    const [min = 0, max = 0] = range;
    const n = node("n", { hostPortRange: { min, max } });
    const pods = held.map((port, i) => bound(`b${i}`, "n", { hostPorts: [port] }));
    expect(verdict(hostPorts, pod("p", { hostPortCount: wanted }), n, pods)).toBe(expected);
  });

  it("says 'node(s) didn't have free ports'", () => {
    expect(NO_FREE_PORTS).toBe("node(s) didn't have free ports");
  });

  it("counts ports reserved outside Berth as taken, and says so when they are what is missing", () => {
    const n = node("n", { hostPortRange: { min: 100, max: 102 }, reservedHostPorts: [101, 102, 999] });
    expect(verdict(hostPorts, pod("p", { hostPortCount: 1 }), n)).toBeNull();
    expect(verdict(hostPorts, pod("p", { hostPortCount: 2 }), n)).toBe(PORTS_RESERVED);
    expect(verdict(hostPorts, pod("p", { hostPortCount: 3 }), n)).toBe(PORTS_RESERVED);
    expect(verdict(hostPorts, pod("p", { hostPortCount: 4 }), n)).toBe(NO_FREE_PORTS);
  });

  it("a port both reserved and held by a bound pod counts once", () => {
    const n = node("n", { hostPortRange: { min: 100, max: 102 }, reservedHostPorts: [100] });
    expect(
      verdict(hostPorts, pod("p", { hostPortCount: 2 }), n, [bound("b", "n", { hostPorts: [100] })]),
    ).toBe(null);
  });
});

describe("reserved host ports", () => {
  it("are never handed out: placements skip them", () => {
    const n = node("n", {
      hostPortRange: { min: 30000, max: 30009 },
      reservedHostPorts: [30000, 30002, 30003],
    });
    const plan = schedule(
      { nodes: [n], pods: [] },
      { pending: [pod("a", { hostPortCount: 2 }), pod("b", { hostPortCount: 2 })] },
    );
    expect(plan.placements.map((p) => p.hostPorts)).toEqual([
      [30001, 30004],
      [30005, 30006],
    ]);
  });

  it("leave a pod unschedulable with the reason when only they stand in the way", () => {
    const n = node("n", { hostPortRange: { min: 30000, max: 30001 }, reservedHostPorts: [30001] });
    const plan = schedule({ nodes: [n], pods: [] }, { pending: [pod("a", { hostPortCount: 2 })] });
    expect(plan.unschedulable[0]?.reason).toContain(PORTS_RESERVED);
  });

  it("must be ports", () => {
    const n = node("n", { reservedHostPorts: [70000] });
    expect(() => schedule({ nodes: [n], pods: [] }, { pending: [] })).toThrow(/reservedHostPorts/);
  });
});
