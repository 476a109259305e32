import { describe, expect, it } from "vitest";
import { schedule } from "../src/index";
import type { BoundPod, DisruptionBudget, NodeState, PendingPod, Resources } from "../src/types";
import { bound, GiB, node, pod } from "./fixtures";

/** Each node holds 4000m of cpu; the pending pods below ask for cpu only (1 byte of memory). */
const roomy = { cpuMillis: 4000, memoryBytes: 8 * GiB, pods: 10 };
const cpu = (cpuMillis: number): Resources => ({ cpuMillis, memoryBytes: 1 });
const two = [node("a", { capacity: roomy }), node("b", { capacity: roomy })];

function preemption(
  nodes: NodeState[],
  pods: BoundPod[],
  pending: PendingPod,
  budgets: DisruptionBudget[] = [],
) {
  const plan = schedule(
    { nodes, pods, disruptionBudgets: budgets },
    { pending: [pending] },
    { preemption: true },
  );
  return plan.preemptions.map((p) => ({ node: p.nodeId, victims: p.victims }));
}

/** A budget over the pods labelled app=db that allows `allowed` more disruptions. */
function dbBudget(allowed: number): DisruptionBudget {
  return {
    tenantId: "ten_a",
    namespace: "default",
    name: "db",
    selector: { matchLabels: { app: "db" } },
    disruptionsAllowed: allowed,
  };
}
const db = { app: "db" };

describe("preemption between equal candidates (kube's GetEarliestPodStartTime)", () => {
  // On each node two priority-5 pods of 1000m must go for a 2000m pod, beside a 2000m pod nobody may evict.
  const urgent = pod("urgent", { requests: cpu(2000), priority: 1000 });
  const keeper = (n: string) => bound(`keep-${n}`, n, { requests: cpu(2000), priority: 50_000 });
  const victims = (n: string, first: [number, number], second: [number, number]) => [
    bound(`${n}1`, n, { requests: cpu(1000), priority: first[0], startedSeq: first[1] }),
    bound(`${n}2`, n, { requests: cpu(1000), priority: second[0], startedSeq: second[1] }),
    keeper(n),
  ];

  it("compares the earliest start of several highest-priority victims: the later one wins", () => {
    // a's earliest is 2, b's is 4: b's victims have run for less time.
    const pods = [...victims("a", [5, 2], [5, 9]), ...victims("b", [5, 4], [5, 6])];
    expect(preemption(two, pods, urgent)).toEqual([{ node: "b", victims: ["b1", "b2"] }]);
    // The other way round, a.
    const swapped = [...victims("a", [5, 4], [5, 6]), ...victims("b", [5, 2], [5, 9])];
    expect(preemption(two, swapped, urgent)).toEqual([{ node: "a", victims: ["a1", "a2"] }]);
  });

  it("looks only at the highest-priority victims' starts, not at lower ones", () => {
    // Highest 5 on both, sums equal. Among the priority-5 victims a started at 5, b at 10: b.
    // Over all victims a's earliest would be 5 and b's 1, which would pick a.
    const pods = [...victims("a", [5, 5], [1, 6]), ...victims("b", [5, 10], [1, 1])];
    expect(preemption(two, pods, urgent)).toEqual([{ node: "b", victims: ["b1", "b2"] }]);
  });

  it("prefers fewer victims when the sums tie at the edge of the int32 priorities", () => {
    // a evicts one pod of priority 7: 7 + 2³¹. b evicts 7 and −2³¹: 7 + 2³¹ − 2³¹ + 2³¹, the same
    // sum. Fewer victims wins, although b would win on the start (its victims started later).
    const min = -(2 ** 31);
    const pods = [
      bound("a1", "a", { requests: cpu(2000), priority: 7, startedSeq: 1 }),
      keeper("a"),
      bound("b1", "b", { requests: cpu(1000), priority: 7, startedSeq: 9 }),
      bound("b2", "b", { requests: cpu(1000), priority: min, startedSeq: 9 }),
      keeper("b"),
    ];
    expect(preemption(two, pods, urgent)).toEqual([{ node: "a", victims: ["a1"] }]);
    // The same with the nodes' roles swapped: the one victim on b wins.
    const swapped = [
      bound("a1", "a", { requests: cpu(1000), priority: 7, startedSeq: 9 }),
      bound("a2", "a", { requests: cpu(1000), priority: min, startedSeq: 9 }),
      keeper("a"),
      bound("b1", "b", { requests: cpu(2000), priority: 7, startedSeq: 1 }),
      keeper("b"),
    ];
    expect(preemption(two, swapped, urgent)).toEqual([{ node: "b", victims: ["b1"] }]);
  });

  it("puts the lowest highest priority before the sum: two victims of 7 beat one of 8", () => {
    const pods = [
      bound("a1", "a", { requests: cpu(1000), priority: 7 }),
      bound("a2", "a", { requests: cpu(1000), priority: 7 }),
      keeper("a"),
      bound("b1", "b", { requests: cpu(2000), priority: 8 }),
      keeper("b"),
    ];
    expect(preemption(two, pods, urgent)).toEqual([{ node: "a", victims: ["a1", "a2"] }]);
  });
});

describe("the reprieve with a PodDisruptionBudget (kube's filterPodsWithPDBViolation)", () => {
  const one = [node("n", { capacity: roomy })];

  it("puts back first the pods whose eviction would break the budget, even if less important", () => {
    // hi and lo are both app=db, the budget allows one disruption: walking in importance order, lo
    // is the one that would break it, so lo is put back first and stays; hi goes.
    const urgent = pod("urgent", { requests: cpu(2000), priority: 1000 });
    const pods = [
      bound("hi", "n", { requests: cpu(2000), priority: 5, labels: db }),
      bound("lo", "n", { requests: cpu(2000), priority: 1, labels: db }),
    ];
    expect(preemption(one, pods, urgent, [dbBudget(1)])).toEqual([{ node: "n", victims: ["hi"] }]);
    // Without the budget the less important pod goes, as usual.
    expect(preemption(one, pods, urgent)).toEqual([{ node: "n", victims: ["lo"] }]);
  });

  it("a budget allowing both disruptions makes neither violating", () => {
    const urgent = pod("urgent", { requests: cpu(2000), priority: 1000 });
    const pods = [
      bound("hi", "n", { requests: cpu(2000), priority: 5, labels: db }),
      bound("lo", "n", { requests: cpu(2000), priority: 1, labels: db }),
    ];
    expect(preemption(one, pods, urgent, [dbBudget(2)])).toEqual([{ node: "n", victims: ["lo"] }]);
  });

  it("lists the victims most important first when a violating pod is one of them", () => {
    // Budget over a (priority 5) and b (priority 1), one disruption: b is violating and put back
    // first, but 2500m do not fit beside it, so it goes; a then stays; c (not covered) goes.
    // The victims were found as [b, c]; listed most important first: [c, b].
    const urgent = pod("urgent", { requests: cpu(2500), priority: 1000 });
    const pods = [
      bound("a", "n", { requests: cpu(500), priority: 5, labels: db }),
      bound("b", "n", { requests: cpu(1500), priority: 1, labels: db }),
      bound("c", "n", { requests: cpu(1500), priority: 3 }),
      bound("keep", "n", { requests: cpu(500), priority: 50_000 }),
    ];
    expect(preemption(one, pods, urgent, [dbBudget(1)])).toEqual([{ node: "n", victims: ["c", "b"] }]);
  });
});
