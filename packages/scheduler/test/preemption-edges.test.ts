import { describe, expect, it } from "vitest";
import { schedule } from "../src/index";
import type { BoundPod, NodeState, PendingPod } from "../src/types";
import { bound, GiB, node, pod } from "./fixtures";

const ZONE = "topology.kubernetes.io/zone";
const small = { cpuMillis: 4000, memoryBytes: 8 * GiB, pods: 10 };
const half = { cpuMillis: 2000, memoryBytes: 1 * GiB };
const full = { cpuMillis: 4000, memoryBytes: 1 * GiB };

function plan(nodes: NodeState[], pods: BoundPod[], pending: PendingPod) {
  const out = schedule({ nodes, pods }, { pending: [pending] }, { preemption: true });
  return {
    preemptions: out.preemptions.map((p) => ({ node: p.nodeId, victims: p.victims })),
    unschedulable: out.unschedulable.map((u) => ({ pod: u.podId, nominated: u.nominatedNodeName })),
  };
}

describe("a nominated pod waiting for its victims (kube's PodEligibleToPreemptOthers)", () => {
  const nominee = pod("urgent", { requests: half, priority: 1000, nominatedNodeName: "a" });
  const a = [node("a", { capacity: small })];

  it("waits while any lower-priority pod on its node is terminating, beside running ones", () => {
    const pods = [
      bound("dying", "a", { requests: half, priority: 0, terminating: true }),
      bound("big", "a", { requests: half, priority: 5000 }),
    ];
    expect(plan(a, pods, nominee)).toEqual({
      preemptions: [],
      unschedulable: [{ pod: "urgent", nominated: "a" }],
    });
  });

  it("does not wait for a terminating pod of its own priority: it preempts a lower one", () => {
    const pods = [
      bound("dying", "a", { requests: half, priority: 1000, terminating: true }),
      bound("low", "a", { requests: half, priority: 0 }),
    ];
    expect(plan(a, pods, nominee)).toEqual({
      preemptions: [{ node: "a", victims: ["low"] }],
      unschedulable: [],
    });
  });
});

describe("preemption and required pod affinity", () => {
  it("evicting the only pod a pod's affinity matched makes it the first of its group (kube deletes the empty count)", () => {
    // The cache pod itself wants to be in a zone with a cache pod. The only one, low priority,
    // fills a1; b1 is full of a higher-priority pod. With the old cache pod gone no pod matches
    // anywhere, and the new one matches its own term: a1 is allowed.
    const nodes = [
      node("a1", { capacity: small, labels: { [ZONE]: "a" } }),
      node("b1", { capacity: small, labels: { [ZONE]: "b" } }),
    ];
    const pods = [
      bound("old-cache", "a1", { requests: full, priority: 0, labels: { app: "cache" } }),
      bound("big", "b1", { requests: full, priority: 5000 }),
    ];
    const cache = pod("cache", {
      requests: half,
      priority: 1000,
      labels: { app: "cache" },
      affinity: {
        podAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: [
            { labelSelector: { matchLabels: { app: "cache" } }, topologyKey: ZONE },
          ],
        },
      },
    });
    expect(plan(nodes, pods, cache)).toEqual({
      preemptions: [{ node: "a1", victims: ["old-cache"] }],
      unschedulable: [],
    });
  });
});

describe("how many candidates preemption looks at", () => {
  it("in a cluster of 1,010 nodes, 10 % of them: 101, one more than the floor of 100", () => {
    // Every node is full with a priority-10 pod, except that the 101st holds a priority-1 pod.
    const names = Array.from({ length: 1010 }, (_, i) => `n${String(i).padStart(4, "0")}`);
    const nodes = names.map((name) =>
      node(name, { capacity: { cpuMillis: 2000, memoryBytes: 8 * GiB, pods: 10 } }),
    );
    const pods = names.map((name) =>
      bound(`v-${name}`, name, { requests: half, priority: name === "n0100" ? 1 : 10 }),
    );
    const urgent = pod("urgent", { requests: half, priority: 1000 });
    expect(plan(nodes, pods, urgent).preemptions).toEqual([{ node: "n0100", victims: ["v-n0100"] }]);
  });
});
