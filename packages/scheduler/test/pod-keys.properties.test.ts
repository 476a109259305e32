import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ClusterState } from "../src/cluster-state";
import type { FilterPlugin, ScorePlugin } from "../src/framework";
import { builtInFilters, defaultScorers, resourceAllocation } from "../src/index";
import type { PendingPod, Snapshot } from "../src/types";
import { replicaScenario, scenario } from "./arbitraries";
import { constrainedScenario, GPU } from "./constrained";
import { propertyRuns } from "./property-runs";

/**
 * The promise behind every `podKey`: pods with equal keys get equal verdicts (filters) or equal
 * raw scores (scorers) on every node. The caches (static filters, failure memo, raw scores) rely
 * on it, and a key that leaves out something the verdict reads (a toleration's value, a request's
 * memory) would let one pod ride another's verdict. Checked on every pair of pending pods whose
 * keys are equal, over scenarios built for collisions; the fixed seed makes every run meet the
 * same pairs.
 */
const RUNS = { numRuns: propertyRuns(300), seed: 4242 };

const keyed: (FilterPlugin | ScorePlugin)[] = [
  ...builtInFilters,
  ...defaultScorers,
  resourceAllocation({ type: "MostAllocated" }),
  resourceAllocation({
    type: "RequestedToCapacityRatio",
    resources: [
      { name: "cpu", weight: 1 },
      { name: GPU, weight: 3 },
    ],
    requestedToCapacityRatio: {
      shape: [
        { utilization: 0, score: 0 },
        { utilization: 100, score: 10 },
      ],
    },
  }),
].filter((plugin) => plugin.podKey !== undefined);

/** What the plugin makes of the pod on every node: "skipped", or each node's verdict or raw score. */
function outcome(plugin: FilterPlugin | ScorePlugin, pod: PendingPod, cluster: ClusterState): unknown {
  const prepared = plugin.prepare(pod, cluster);
  if (prepared === null) return "skipped";
  return cluster.nodes.map((info) => prepared(info));
}

function checkKeys(snapshot: Snapshot, pending: readonly PendingPod[]): number {
  const cluster = new ClusterState(snapshot);
  let pairs = 0;
  for (const plugin of keyed) {
    const firstByKey = new Map<string, { pod: PendingPod; outcome: unknown }>();
    for (const pod of pending) {
      const key = (plugin.podKey as (p: PendingPod) => string)(pod);
      const seen = firstByKey.get(key);
      const mine = outcome(plugin, pod, cluster);
      if (seen === undefined) {
        firstByKey.set(key, { pod, outcome: mine });
        continue;
      }
      pairs += 1;
      expect({ plugin: plugin.name, pods: [seen.pod.id, pod.id], outcome: mine }).toEqual({
        plugin: plugin.name,
        pods: [seen.pod.id, pod.id],
        outcome: seen.outcome,
      });
    }
  }
  return pairs;
}

describe("pod keys (fixed seed)", () => {
  it.each([
    ["plain", scenario],
    ["replica", replicaScenario],
    ["constrained", constrainedScenario],
  ] as const)(
    "pods with equal keys get equal verdicts and raw scores on every node (%s scenarios)",
    (_, arb) => {
      let pairs = 0;
      fc.assert(
        fc.property(arb, (s) => {
          pairs += checkKeys(s.snapshot, s.pending);
        }),
        RUNS,
      );
      expect(pairs).toBeGreaterThan(RUNS.numRuns);
    },
  );
});
