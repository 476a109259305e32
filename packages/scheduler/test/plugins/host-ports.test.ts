import { describe, expect, it } from "vitest";
import { hostPorts, NO_FREE_PORTS } from "../../src/plugins/host-ports";
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
});
