import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { FilterPlugin } from "../src/index";
import { defaultScorers, schedule } from "../src/index";
import type { PendingPod, Plan, Snapshot } from "../src/types";
import { nodes, onePendingPod, replicaScenario, type Scenario, scenario, shuffled } from "./arbitraries";
import { allowedOn, fitsEmpty } from "./oracle";
import { propertyRuns } from "./property-runs";

const RUNS = { numRuns: propertyRuns(1000) };

function run({ snapshot, pending, maxPlacements }: Scenario): Plan {
  return schedule(snapshot, maxPlacements === undefined ? { pending } : { pending, maxPlacements });
}

/** Every way the plan could over-commit a node, as messages; empty when it does not. */
function overCommitments(snapshot: Snapshot, pending: PendingPod[], plan: Plan): string[] {
  const problems: string[] = [];
  const byId = new Map(pending.map((p) => [p.id, p]));
  for (const node of snapshot.nodes) {
    const placed = plan.placements.filter((p) => p.nodeId === node.id);
    if (placed.length === 0) continue;
    const bound = snapshot.pods.filter((p) => p.nodeId === node.id);
    const pods = [...bound.map((b) => b.requests), ...placed.map((p) => byId.get(p.podId)?.requests)];
    const cpu = pods.reduce((sum, r) => sum + (r?.cpuMillis ?? 0), 0);
    const memory = pods.reduce((sum, r) => sum + (r?.memoryBytes ?? 0), 0);
    if (cpu > node.capacity.cpuMillis) problems.push(`${node.id}: cpu ${cpu} > ${node.capacity.cpuMillis}`);
    if (memory > node.capacity.memoryBytes)
      problems.push(`${node.id}: memory ${memory} > ${node.capacity.memoryBytes}`);
    if (pods.length > node.capacity.pods)
      problems.push(`${node.id}: ${pods.length} pods > ${node.capacity.pods}`);
    const taken = new Set(bound.flatMap((b) => b.hostPorts));
    const reserved = new Set(node.reservedHostPorts ?? []);
    for (const placement of placed) {
      if (placement.hostPorts.length !== byId.get(placement.podId)?.hostPortCount) {
        problems.push(`${placement.podId}: got ${placement.hostPorts.length} ports`);
      }
      for (const port of placement.hostPorts) {
        if (port < node.hostPortRange.min || port > node.hostPortRange.max)
          problems.push(`${node.id}: port ${port} out of range`);
        if (taken.has(port)) problems.push(`${node.id}: port ${port} handed out twice`);
        if (reserved.has(port)) problems.push(`${node.id}: reserved port ${port} handed out`);
        taken.add(port);
      }
    }
  }
  return problems;
}

describe("scheduler properties", () => {
  it("never over-commits a node: cpu, memory, pod count, host ports unique, in range and never reserved ones", () => {
    fc.assert(
      fc.property(fc.oneof(scenario, replicaScenario), (s) => {
        expect(overCommitments(s.snapshot, s.pending, run(s))).toEqual([]);
      }),
      RUNS,
    );
  });

  it("gives the same plan for the same input, whatever the order of nodes, bound pods and pending pods", () => {
    const permuted = scenario.chain((s) =>
      fc.tuple(fc.constant(s), shuffled(s.snapshot.nodes), shuffled(s.snapshot.pods), shuffled(s.pending)),
    );
    fc.assert(
      fc.property(permuted, ([s, ns, bound, pending]) => {
        const plan = run(s);
        expect(run(s)).toEqual(plan);
        expect(
          run({ snapshot: { nodes: ns, pods: bound }, pending, maxPlacements: s.maxPlacements }),
        ).toEqual(plan);
      }),
      RUNS,
    );
  });

  it("leaves its input untouched", () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const before = structuredClone(s);
        run(s);
        expect(s).toEqual(before);
      }),
      RUNS,
    );
  });

  it("accounts for every pending pod exactly once: placed, preempting, unschedulable with a reason, or deferred", () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const plan = run(s);
        const seen = [
          ...plan.placements.map((p) => p.podId),
          ...plan.preemptions.map((p) => p.podId),
          ...plan.unschedulable.map((u) => u.podId),
          ...plan.deferred,
        ];
        expect([...seen].sort()).toEqual(s.pending.map((p) => p.id).sort());
        for (const u of plan.unschedulable) expect(u.reason).toMatch(/^0\/\d+ nodes are available: .+\.$/);
        if (s.maxPlacements === undefined) expect(plan.deferred).toEqual([]);
        else expect(plan.placements.length).toBeLessThanOrEqual(s.maxPlacements);
        if (plan.deferred.length > 0) expect(plan.placements.length).toBe(s.maxPlacements);
      }),
      RUNS,
    );
  });

  it("never reports unschedulable a pod that fits on some empty ready node of an empty cluster", () => {
    fc.assert(
      fc.property(nodes, onePendingPod, (ns, pod) => {
        const plan = schedule({ nodes: ns, pods: [] }, { pending: [pod] });
        const fitsSomewhere = ns.some((n) => fitsEmpty(pod, n));
        expect(plan.placements.length).toBe(fitsSomewhere ? 1 : 0);
        expect(plan.unschedulable.length).toBe(fitsSomewhere ? 0 : 1);
      }),
      RUNS,
    );
  });

  it("places pods only on ready, schedulable nodes whose taints they tolerate and whose labels match", () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const plan = run(s);
        for (const placement of plan.placements) {
          const node = s.snapshot.nodes.find((n) => n.id === placement.nodeId);
          const pod = s.pending.find((p) => p.id === placement.podId);
          expect(node && pod && allowedOn(pod, node)).toBe(true);
        }
      }),
      RUNS,
    );
  });

  it("counts, for an unschedulable pod, every node of the cluster under at least one reason", () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const plan = run(s);
        for (const u of plan.unschedulable) {
          if (u.reason.startsWith("invalid")) continue;
          const counted = Object.values(u.counts).reduce((a, b) => a + b, 0);
          expect(counted).toBeGreaterThanOrEqual(s.snapshot.nodes.length);
          expect(u.reason.startsWith(`0/${s.snapshot.nodes.length} nodes`)).toBe(true);
        }
      }),
      RUNS,
    );
  });

  it("is fair between tenants: with maxPlacements 20, tenant B's 10 pods all land beside tenant A's backlog", () => {
    const roomy = nodes.map((ns) =>
      ns.map((n) => ({
        ...n,
        ready: true,
        unschedulable: false,
        taints: [],
        capacity: { cpuMillis: 1_000_000, memoryBytes: 1_000_000_000, pods: 1000 },
        hostPortRange: { min: 1000, max: 9000 },
      })),
    );
    // A tenant's pods: copies of one random pod spec, no selector, FIFO after `seqFrom`.
    const tenantPods = (tenant: string, count: number, seqFrom: number) =>
      onePendingPod.map(({ nodeSelector: _ignored, ...template }) =>
        Array.from(
          { length: count },
          (_, i): PendingPod => ({
            ...template,
            id: `${tenant}_${i}`,
            tenantId: tenant,
            priority: 0,
            createdSeq: seqFrom + i,
          }),
        ),
      );
    fc.assert(
      fc.property(
        roomy.filter((ns) => ns.length > 0),
        fc.integer({ min: 10, max: 150 }).chain((n) => tenantPods("A", n, 0)),
        tenantPods("B", 10, 1000),
        (ns, a, b) => {
          const plan = schedule({ nodes: ns, pods: [] }, { pending: [...a, ...b], maxPlacements: 20 });
          expect(plan.placements).toHaveLength(20);
          expect(plan.placements.filter((p) => p.podId.startsWith("B_"))).toHaveLength(10);
        },
      ),
      RUNS,
    );
  });

  it("makes the same plan with the score cache switched off (scorers without podKey are never cached)", () => {
    const uncached = defaultScorers.map(({ podKey: _ignored, ...rest }) => rest);
    fc.assert(
      fc.property(fc.oneof(scenario, replicaScenario), (s) => {
        const request =
          s.maxPlacements === undefined
            ? { pending: s.pending }
            : { pending: s.pending, maxPlacements: s.maxPlacements };
        expect(schedule(s.snapshot, request, { scorers: uncached })).toEqual(run(s));
      }),
      RUNS,
    );
  });

  it.each([false, true])(
    "makes the same plan with the failure memos switched off (preemption %s; they save work, never change answers)",
    (preemption) => {
      const opaque: FilterPlugin = { name: "Opaque", prepare: () => () => null };
      fc.assert(
        fc.property(fc.oneof(scenario, replicaScenario), (s) => {
          const request =
            s.maxPlacements === undefined
              ? { pending: s.pending }
              : { pending: s.pending, maxPlacements: s.maxPlacements };
          expect(schedule(s.snapshot, request, { extraFilters: [opaque], preemption })).toEqual(
            schedule(s.snapshot, request, { preemption }),
          );
        }),
        RUNS,
      );
    },
  );
});
