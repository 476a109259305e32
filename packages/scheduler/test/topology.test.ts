import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DomainCounter, type PodChange } from "../src/topology";
import { propertyRuns } from "./property-runs";

const facts = (app: string) => ({ tenantId: "t", namespace: "ns", labels: { app } });
const isWeb = (pod: { labels?: Readonly<Record<string, string>> }) => pod.labels?.app === "web";

/** Brute force: matching pods per domain of eligible nodes, every eligible domain present. */
function expected(values: (string | undefined)[], eligible: number[] | null, log: PodChange[]) {
  const counts = new Map<string, number>();
  if (eligible !== null) {
    for (const [i, v] of values.entries()) if (v !== undefined && eligible[i] === 1) counts.set(v, 0);
  }
  for (const change of log) {
    const value = values[change.node];
    if (value === undefined || (eligible !== null && eligible[change.node] !== 1) || !isWeb(change.pod))
      continue;
    counts.set(value, (counts.get(value) ?? 0) + change.delta);
  }
  const minimum = counts.size === 0 ? 0 : Math.min(...counts.values());
  return { counts: Object.fromEntries(counts), minimum, domains: counts.size };
}

describe("DomainCounter", () => {
  it("keeps counts, domains and the minimum right through any sequence of pods counted and taken away", () => {
    const nodeCount = 6;
    const scenario = fc.record({
      values: fc.array(fc.constantFrom("a", "b", "c", undefined), {
        minLength: nodeCount,
        maxLength: nodeCount,
      }),
      eligible: fc.option(fc.array(fc.constantFrom(0, 1), { minLength: nodeCount, maxLength: nodeCount }), {
        nil: null,
      }),
      steps: fc.array(
        fc.record({ node: fc.nat(nodeCount - 1), web: fc.boolean(), remove: fc.nat(3), batch: fc.boolean() }),
        { maxLength: 40 },
      ),
    });
    fc.assert(
      fc.property(scenario, ({ values, eligible, steps }) => {
        const log: PodChange[] = [];
        const counter = new DomainCounter(values, isWeb, eligible ? Uint8Array.from(eligible) : null);
        const live: PodChange[] = [];
        for (const step of steps) {
          // Take a pod away again (as preemption tries victims) or count a new one.
          const victim = step.remove === 0 ? live.pop() : undefined;
          if (victim) log.push({ ...victim, delta: -1 });
          else {
            const change: PodChange = { pod: facts(step.web ? "web" : "db"), node: step.node, delta: 1 };
            live.push(change);
            log.push(change);
          }
          if (step.batch) continue; // several changes before the next read
          counter.catchUp(log);
          const want = expected(values, eligible, log);
          expect(Object.fromEntries(counter.counts)).toEqual(want.counts);
          if (eligible) expect([counter.minimum, counter.domains]).toEqual([want.minimum, want.domains]);
        }
      }),
      { numRuns: propertyRuns(1000), seed: 31 },
    );
  });
});
