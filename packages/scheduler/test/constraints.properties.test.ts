import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ScheduleOptions } from "../src/index";
import { budgetCovers, defaultScorers, type FilterPlugin, schedule as scheduleWith } from "../src/index";
import type { Plan, Snapshot } from "../src/types";
import { shuffled } from "./arbitraries";
import { type ConstrainedScenario, constrainedScenario, GPU } from "./constrained";
import { brokenRules, type PlacedPod } from "./constraint-oracle";
import { propertyRuns } from "./property-runs";

/** Preemption is on in these properties unless one turns it off (it is off by default). */
function schedule(...[snapshot, request, options]: Parameters<typeof scheduleWith>) {
  return scheduleWith(snapshot, request, { preemption: true, ...(options as ScheduleOptions | undefined) });
}

/** Fixed seeds: the same cases every run, so a failure reproduces. */
const RUNS = { numRuns: propertyRuns(500), seed: 14 };

function placedFromSnapshot(snapshot: Snapshot): PlacedPod[] {
  const ids = new Set(snapshot.nodes.map((n) => n.id));
  return snapshot.pods
    .filter((p) => ids.has(p.nodeId))
    .map((p) => ({
      tenantId: p.tenantId,
      namespace: p.namespace,
      labels: p.labels ?? {},
      nodeId: p.nodeId,
      terminating: p.terminating === true,
      ...(p.affinity ? { affinity: p.affinity } : {}),
    }));
}

function placedCount(plan: Plan, nodeId: string): number {
  return [...plan.placements, ...plan.preemptions].filter((p) => p.nodeId === nodeId).length;
}

/** Resource use per node once the plan's victims are gone: bound − victims + placed + nominated. */
function overCommitments(s: ConstrainedScenario, plan: Plan): string[] {
  const victims = new Set(plan.preemptions.flatMap((p) => p.victims));
  const byId = new Map(s.pending.map((p) => [p.id, p]));
  const problems: string[] = [];
  for (const node of s.snapshot.nodes) {
    const requests = [
      ...s.snapshot.pods.filter((p) => p.nodeId === node.id && !victims.has(p.id)).map((p) => p.requests),
      ...plan.placements.filter((p) => p.nodeId === node.id).map((p) => byId.get(p.podId)?.requests),
      ...plan.preemptions.filter((p) => p.nodeId === node.id).map((p) => byId.get(p.podId)?.requests),
    ];
    const sum = (f: (r: NonNullable<(typeof requests)[number]>) => number) =>
      requests.reduce((acc, r) => acc + (r ? f(r) : 0), 0);
    const placedHere =
      plan.placements.some((p) => p.nodeId === node.id) || plan.preemptions.some((p) => p.nodeId === node.id);
    if (!placedHere) continue;
    if (sum((r) => r.cpuMillis) > node.capacity.cpuMillis) problems.push(`${node.id}: cpu`);
    if (sum((r) => r.memoryBytes) > node.capacity.memoryBytes) problems.push(`${node.id}: memory`);
    if (requests.length > node.capacity.pods) problems.push(`${node.id}: pods`);
    // Bound pods may already hold more of an extended resource than the node now advertises; only
    // a plan that adds some on top is at fault (kube checks it only for pods that ask for it).
    const added = requests.slice(requests.length - placedCount(plan, node.id));
    const addsGpu = added.some((r) => (r?.extended?.[GPU] ?? 0) > 0);
    if (addsGpu && sum((r) => r.extended?.[GPU] ?? 0) > (node.capacity.extended?.[GPU] ?? 0)) {
      problems.push(`${node.id}: ${GPU}`);
    }
  }
  return problems;
}

describe("required constraints (fixed seeds)", () => {
  it.each([false, true])(
    "every placement keeps node affinity, topology spread, pod affinity and anti-affinity as they stood when it was made (preemption %s)",
    (preemption) => {
      fc.assert(
        fc.property(constrainedScenario, (s) => {
          // The placements are a plain sequence: replay it. Victims of preemption count until they
          // are gone, and a node held for a preempting pod holds resources, not labels or terms.
          const plan = schedule(s.snapshot, { pending: s.pending }, { preemption });
          const placed = placedFromSnapshot(s.snapshot);
          const byId = new Map(s.pending.map((p) => [p.id, p]));
          for (const placement of plan.placements) {
            const pod = byId.get(placement.podId);
            const node = s.snapshot.nodes.find((n) => n.id === placement.nodeId);
            if (!pod || !node) throw new Error("placement of an unknown pod or node");
            expect({
              pod: pod.id,
              node: node.id,
              broken: brokenRules(pod, node, s.snapshot.nodes, placed, s.snapshot.namespaces ?? []),
            }).toEqual({
              pod: pod.id,
              node: node.id,
              broken: [],
            });
            placed.push({
              tenantId: pod.tenantId,
              namespace: pod.namespace,
              labels: pod.labels ?? {},
              nodeId: node.id,
              terminating: false,
              ...(pod.affinity ? { affinity: pod.affinity } : {}),
            });
          }
        }),
        RUNS,
      );
    },
  );

  it("a pod that is reported unschedulable breaks some rule on every ready node (no false negatives for one pod)", () => {
    fc.assert(
      fc.property(constrainedScenario, (s) => {
        const [first] = s.pending;
        if (!first) return;
        const plan = schedule(s.snapshot, { pending: [first] }, { preemption: false });
        const placed = placedFromSnapshot(s.snapshot);
        const fitsByRules = s.snapshot.nodes.some((n) => {
          if (!n.ready) return false;
          const here = s.snapshot.pods.filter((p) => p.nodeId === n.id);
          const cpu = here.reduce((a, p) => a + p.requests.cpuMillis, 0) + first.requests.cpuMillis;
          const mem = here.reduce((a, p) => a + p.requests.memoryBytes, 0) + first.requests.memoryBytes;
          const wantsGpu = first.requests.extended?.[GPU] ?? 0;
          const gpu = here.reduce((a, p) => a + (p.requests.extended?.[GPU] ?? 0), 0) + wantsGpu;
          // An extended resource is checked only for pods that ask for it, as kube does.
          const resourcesOk =
            cpu <= n.capacity.cpuMillis &&
            mem <= n.capacity.memoryBytes &&
            here.length + 1 <= n.capacity.pods &&
            (wantsGpu === 0 || gpu <= (n.capacity.extended?.[GPU] ?? 0));
          return (
            resourcesOk &&
            brokenRules(first, n, s.snapshot.nodes, placed, s.snapshot.namespaces ?? []).length === 0
          );
        });
        expect(plan.placements.length).toBe(fitsByRules ? 1 : 0);
      }),
      RUNS,
    );
  });

  it("gives the same plan for the same input, in any order of nodes, pods, namespaces and budgets", () => {
    const permuted = constrainedScenario.chain((s) =>
      fc.tuple(fc.constant(s), shuffled(s.snapshot.nodes), shuffled(s.snapshot.pods), shuffled(s.pending)),
    );
    fc.assert(
      fc.property(permuted, ([s, nodes, pods, pending]) => {
        const plan = schedule(s.snapshot, { pending: s.pending });
        expect(schedule(s.snapshot, { pending: s.pending })).toEqual(plan);
        expect(schedule({ ...s.snapshot, nodes, pods }, { pending })).toEqual(plan);
      }),
      RUNS,
    );
  });
});

describe("caches (fixed seeds)", () => {
  it("makes the same plan with the score cache switched off, constraints and preemption included", () => {
    const uncached = defaultScorers.map(({ podKey: _ignored, ...rest }) => rest);
    fc.assert(
      fc.property(constrainedScenario, (s) => {
        const request = { pending: s.pending };
        expect(schedule(s.snapshot, request, { scorers: uncached })).toEqual(schedule(s.snapshot, request));
      }),
      RUNS,
    );
  });

  it("makes the same plan with the failure memo switched off, constraints and preemption included", () => {
    const opaque: FilterPlugin = { name: "Opaque", prepare: () => () => null };
    fc.assert(
      fc.property(constrainedScenario, (s) => {
        const request = { pending: s.pending };
        expect(schedule(s.snapshot, request, { extraFilters: [opaque] })).toEqual(
          schedule(s.snapshot, request),
        );
      }),
      RUNS,
    );
  });
});

describe("preemption (fixed seeds)", () => {
  it("evicts only bound, running, lower-priority pods on the nominated node, each once, and never for a Never pod", () => {
    fc.assert(
      fc.property(constrainedScenario, (s) => {
        const plan = schedule(s.snapshot, { pending: s.pending });
        const bound = new Map(s.snapshot.pods.map((p) => [p.id, p]));
        const pending = new Map(s.pending.map((p) => [p.id, p]));
        const seen = new Set<string>();
        for (const p of plan.preemptions) {
          const preemptor = pending.get(p.podId);
          expect(preemptor?.preemptionPolicy).not.toBe("Never");
          expect(p.victims.length).toBeGreaterThan(0);
          for (const id of p.victims) {
            const victim = bound.get(id);
            expect(victim?.nodeId).toBe(p.nodeId);
            expect(victim?.priority ?? 0).toBeLessThan(preemptor?.priority ?? 0);
            expect(victim?.terminating).not.toBe(true);
            expect(seen.has(id)).toBe(false);
            seen.add(id);
          }
        }
      }),
      RUNS,
    );
  });

  it("never takes a PodDisruptionBudget below zero", () => {
    fc.assert(
      fc.property(constrainedScenario, (s) => {
        const plan = schedule(s.snapshot, { pending: s.pending });
        const victims = plan.preemptions
          .flatMap((p) => p.victims)
          .map((id) => s.snapshot.pods.find((b) => b.id === id));
        for (const budget of s.snapshot.disruptionBudgets ?? []) {
          const taken = victims.filter(
            (v) => v !== undefined && budgetCovers(budget, { ...v, labels: v.labels ?? {} }),
          );
          expect(taken.length).toBeLessThanOrEqual(budget.disruptionsAllowed);
        }
      }),
      RUNS,
    );
  });

  it("never over-commits a node, extended resources included, once the victims are gone", () => {
    fc.assert(
      fc.property(constrainedScenario, (s) => {
        expect(overCommitments(s, schedule(s.snapshot, { pending: s.pending }))).toEqual([]);
      }),
      RUNS,
    );
  });

  it("accounts for every pod once, and preempts only when the pod fit nowhere without", () => {
    fc.assert(
      fc.property(constrainedScenario, (s) => {
        const plan = schedule(s.snapshot, { pending: s.pending });
        const ids = [...plan.placements, ...plan.preemptions, ...plan.unschedulable].map((p) => p.podId);
        expect(ids.sort()).toEqual(s.pending.map((p) => p.id).sort());
        for (const p of plan.preemptions) expect(p.reason).toMatch(/^0\/\d+ nodes are available: .+\.$/);
      }),
      RUNS,
    );
  });
});
