import { describe, expect, it } from "vitest";
import { DomainCounter, type PodChange } from "../src/topology";

const web = { tenantId: "t", namespace: "ns", labels: { app: "web" } };

/**
 * Every sequence of `length` steps over three single-node domains, each step a pod counted on a
 * node or one taken away from a node that has one: the domains all start at 0 and the minimum is
 * checked after every step against the plain minimum of the counts. Random sequences (the property
 * in topology.test.ts) can miss the one order that leaves the cached minimum stale; this misses none.
 */
function everySequence(length: number, visit: (steps: readonly PodChange[]) => void): void {
  const counts = [0, 0, 0];
  const steps: PodChange[] = [];
  const walk = (): void => {
    visit(steps);
    if (steps.length === length) return;
    for (let node = 0; node < counts.length; node++) {
      for (const delta of [1, -1] as const) {
        if (delta === -1 && counts[node] === 0) continue;
        counts[node] = (counts[node] as number) + delta;
        steps.push({ pod: web, node, delta });
        walk();
        steps.pop();
        counts[node] = (counts[node] as number) - delta;
      }
    }
  };
  walk();
}

describe("DomainCounter's minimum, exhaustively", () => {
  it("is the fewest pods in any domain after every step of every sequence of 6 changes", () => {
    const values = ["a", "b", "c"];
    const eligible = Uint8Array.of(1, 1, 1);
    let checked = 0;
    let wrong: string | null = null;
    everySequence(6, (steps) => {
      if (wrong !== null) return;
      // One counter per sequence, caught up one step at a time, as placements arrive.
      const counter = new DomainCounter(values, () => true, eligible);
      const log: PodChange[] = [];
      const counts = [0, 0, 0];
      for (const step of steps) {
        log.push(step);
        counts[step.node] = (counts[step.node] as number) + step.delta;
        const minimum = Math.min(...counts);
        checked += 1;
        if (counter.catchUp(log).minimum !== minimum) {
          wrong = `${steps.map((s) => `${s.delta > 0 ? "+" : "-"}${values[s.node]}`).join(" ")}: ${minimum}`;
          return;
        }
      }
    });
    expect(wrong).toBeNull();
    expect(checked).toBeGreaterThan(10_000);
  });

  it("falls when a pod leaves the only domain at the minimum, and rises when the last one there fills", () => {
    const counter = new DomainCounter(["a", "b"], () => true, Uint8Array.of(1, 1));
    const log: PodChange[] = [];
    const step = (node: number, delta: 1 | -1) => {
      log.push({ pod: web, node, delta });
      return counter.catchUp(log).minimum;
    };
    expect([step(0, 1), step(1, 1), step(1, 1), step(0, -1), step(0, 1), step(0, 1)]).toEqual([
      0, 1, 1, 0, 1, 2,
    ]);
  });
});
