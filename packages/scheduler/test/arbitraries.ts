import fc from "fast-check";
import type { BoundPod, NodeState, PendingPod, Snapshot, Taint, Toleration } from "../src/types";

/**
 * Small clusters with lots of collisions: few names (ties broken by id), few labels, taints,
 * shapes and tenants, ports ranges of a handful of ports, capacities that run out.
 */

const taint: fc.Arbitrary<Taint> = fc.record(
  {
    key: fc.constantFrom("gpu", "spot", "zone"),
    value: fc.constantFrom("a", "b", ""),
    effect: fc.constantFrom("NoSchedule" as const, "NoExecute" as const, "PreferNoSchedule" as const),
  },
  { requiredKeys: ["key", "effect"] },
);

const toleration: fc.Arbitrary<Toleration> = fc.record(
  {
    key: fc.constantFrom("gpu", "spot", "zone", ""),
    operator: fc.constantFrom("Equal" as const, "Exists" as const),
    value: fc.constantFrom("a", "b", ""),
    effect: fc.constantFrom("NoSchedule", "NoExecute", "PreferNoSchedule", ""),
  },
  { requiredKeys: ["key"] },
);

const labels = fc.dictionary(fc.constantFrom("zone", "pool", "disk"), fc.constantFrom("a", "b"), {
  maxKeys: 3,
});

const nodeSpec = fc.record({
  name: fc.constantFrom("alpha", "bravo", "charlie", "delta"),
  // 1 in 10 nodes not ready, 1 in 10 cordoned.
  notReady: fc.integer({ min: 0, max: 9 }),
  cordoned: fc.integer({ min: 0, max: 9 }),
  cpu: fc.integer({ min: 0, max: 8 }).map((n) => n * 500),
  memory: fc.integer({ min: 0, max: 8 }).map((n) => n * 1024),
  pods: fc.integer({ min: 0, max: 6 }),
  labels,
  taints: fc.array(taint, { maxLength: 2 }),
  portMin: fc.integer({ min: 30000, max: 30003 }),
  portSpan: fc.integer({ min: -1, max: 4 }),
  // Ports something outside Berth holds, in and around the range.
  reserved: fc.option(fc.array(fc.integer({ min: 29999, max: 30008 }), { maxLength: 3 }), { nil: undefined }),
});

export const nodes: fc.Arbitrary<NodeState[]> = fc.array(nodeSpec, { maxLength: 7 }).map((specs) =>
  specs.map((s, i) => ({
    id: `node_${i}`,
    name: s.name,
    ready: s.notReady > 0,
    unschedulable: s.cordoned === 0,
    capacity: { cpuMillis: s.cpu, memoryBytes: s.memory, pods: s.pods },
    labels: s.labels,
    taints: s.taints,
    hostPortRange: { min: s.portMin, max: s.portMin + s.portSpan },
    ...(s.reserved !== undefined ? { reservedHostPorts: s.reserved } : {}),
  })),
);

const resources = fc.record({
  cpuMillis: fc.integer({ min: 0, max: 4 }).map((n) => n * 250),
  memoryBytes: fc.integer({ min: 0, max: 4 }).map((n) => n * 512),
});

const tenant = fc.constantFrom("ten_a", "ten_b", "ten_c");
const owner = fc.option(fc.constantFrom("dep_1", "dep_2"), { nil: undefined });

function boundPods(nodeCount: number): fc.Arbitrary<BoundPod[]> {
  const bound = fc.record({
    // Occasionally a node that is not in the snapshot.
    node: fc.integer({ min: 0, max: nodeCount }),
    requests: resources,
    hostPorts: fc.array(fc.integer({ min: 29999, max: 30008 }), { maxLength: 2 }),
    tenantId: tenant,
    ownerId: owner,
  });
  return fc.array(bound, { maxLength: 8 }).map((specs) =>
    specs.map((s, i) => {
      const pod: BoundPod = {
        id: `bound_${i}`,
        nodeId: `node_${s.node}`,
        requests: s.requests,
        hostPorts: s.hostPorts,
        tenantId: s.tenantId,
        namespace: "default",
      };
      if (s.ownerId !== undefined) pod.ownerId = s.ownerId;
      return pod;
    }),
  );
}

const pendingSpec = fc.record({
  tenantId: tenant,
  ownerId: owner,
  requests: resources,
  hostPortCount: fc.integer({ min: 0, max: 3 }),
  priority: fc.constantFrom(0, 0, 1, 10),
  nodeSelector: fc.option(labels, { nil: undefined }),
  tolerations: fc.option(fc.array(toleration, { maxLength: 2 }), { nil: undefined }),
  createdSeq: fc.integer({ min: 0, max: 20 }),
});

type PendingSpec = typeof pendingSpec extends fc.Arbitrary<infer T> ? T : never;

function toPending(s: PendingSpec, i: number): PendingPod {
  const pod: PendingPod = {
    id: `pod_${i}`,
    tenantId: s.tenantId,
    namespace: "default",
    requests: s.requests,
    hostPortCount: s.hostPortCount,
    priority: s.priority,
    createdSeq: s.createdSeq,
  };
  if (s.ownerId !== undefined) pod.ownerId = s.ownerId;
  if (s.nodeSelector !== undefined) pod.nodeSelector = s.nodeSelector;
  if (s.tolerations !== undefined) pod.tolerations = s.tolerations;
  return pod;
}

export const pendingPods: fc.Arbitrary<PendingPod[]> = fc
  .array(pendingSpec, { maxLength: 25 })
  .map((specs) => specs.map(toPending));

export const onePendingPod: fc.Arbitrary<PendingPod> = pendingSpec.map((s) => toPending(s, 0));

export const snapshot: fc.Arbitrary<Snapshot> = nodes.chain((ns) =>
  boundPods(ns.length).map((pods) => ({ nodes: ns, pods })),
);

export interface Scenario {
  snapshot: Snapshot;
  pending: PendingPod[];
  maxPlacements: number | undefined;
}

export const scenario: fc.Arbitrary<Scenario> = fc.record({
  snapshot,
  pending: pendingPods,
  maxPlacements: fc.option(fc.integer({ min: 0, max: 10 }), { nil: undefined }),
});

/**
 * Like `scenario`, but capacity is what runs out: no hard taints, no node selectors, and the
 * pending pods are replicas of at most four specs (each with its own tenant, priority and age),
 * so pods of one shape fail, the nodes fill up further, and pods of that shape come again.
 */
export const replicaScenario: fc.Arbitrary<Scenario> = fc.record({
  snapshot: snapshot.map(({ nodes: ns, pods }) => ({
    nodes: ns.map((n) => ({ ...n, taints: n.taints.filter((t) => t.effect === "PreferNoSchedule") })),
    pods,
  })),
  pending: fc
    .tuple(
      // Few request sizes, so specs often share cpu but not memory (or the other way round).
      fc.array(
        fc
          .tuple(pendingSpec, fc.constantFrom(0, 1000), fc.constantFrom(0, 1024, 4096))
          .map(([spec, cpu, memory]) => ({
            ...spec,
            requests: { cpuMillis: cpu, memoryBytes: memory },
          })),
        { minLength: 1, maxLength: 4 },
      ),
      fc.array(
        fc.record({
          spec: fc.nat(),
          tenantId: tenant,
          priority: fc.constantFrom(0, 1, 10),
          createdSeq: fc.integer({ min: 0, max: 20 }),
        }),
        { maxLength: 30 },
      ),
    )
    .map(([specs, picks]) =>
      picks.map((pick, i) =>
        toPending(
          { ...(specs[pick.spec % specs.length] as PendingSpec), nodeSelector: undefined, ...pick },
          i,
        ),
      ),
    ),
  maxPlacements: fc.constant(undefined),
});

/** A permutation of `items`. */
export function shuffled<T>(items: readonly T[]): fc.Arbitrary<T[]> {
  return fc.shuffledSubarray([...items], { minLength: items.length, maxLength: items.length });
}
