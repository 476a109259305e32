import { describe, expect, it } from "vitest";
import type { BoundPod, NodeState, PendingPod, Snapshot } from "../src/types";
import { assertUniquePendingIds, assertValidSnapshot, pendingPodProblem } from "../src/validate";
import { bound, node, pod } from "./fixtures";

/** What `assertValidSnapshot` throws for the snapshot, or null when it accepts it. */
function snapshotProblem(snapshot: Partial<Snapshot>): string | null {
  try {
    assertValidSnapshot({ nodes: [], pods: [], ...snapshot });
    return null;
  } catch (error) {
    return (error as Error).message;
  }
}

/** A node with fields swapped in, invalid ones included (the input is untrusted). */
function rawNode(fields: Record<string, unknown>): NodeState {
  return { ...node("n"), ...fields } as NodeState;
}

function rawBound(fields: Record<string, unknown>): BoundPod {
  return { ...bound("b", "n"), ...fields } as BoundPod;
}

function rawPod(fields: Record<string, unknown>): PendingPod {
  return { ...pod("p"), ...fields } as PendingPod;
}

describe("snapshot validation", () => {
  it.each<{ what: string; n: NodeState; message: string | null }>([
    { what: "a valid node", n: node("n"), message: null },
    {
      what: "an id that is no string",
      n: rawNode({ id: 7 }),
      message: "node 7: id and name must be strings",
    },
    {
      what: "a name that is no string",
      n: rawNode({ name: null }),
      message: 'node "n": id and name must be strings',
    },
    { what: "no capacity", n: rawNode({ capacity: undefined }), message: 'node "n": capacity is missing' },
    { what: "a null capacity", n: rawNode({ capacity: null }), message: 'node "n": capacity is missing' },
    {
      what: "negative cpu",
      n: rawNode({ capacity: { cpuMillis: -1, memoryBytes: 1, pods: 1 } }),
      message: 'node "n": capacity.cpuMillis must be a non-negative integer',
    },
    {
      what: "memory as a string",
      n: rawNode({ capacity: { cpuMillis: 1, memoryBytes: "1", pods: 1 } }),
      message: 'node "n": capacity.memoryBytes must be a non-negative integer',
    },
    {
      what: "memory beyond 2^53",
      n: rawNode({ capacity: { cpuMillis: 1, memoryBytes: 2 ** 53, pods: 1 } }),
      message: 'node "n": capacity.memoryBytes must be a non-negative integer',
    },
    {
      what: "zero everything",
      n: rawNode({ capacity: { cpuMillis: 0, memoryBytes: 0, pods: 0, extended: {} } }),
      message: null,
    },
    {
      what: "extended resources that are null",
      n: rawNode({ capacity: { cpuMillis: 1, memoryBytes: 1, pods: 1, extended: null } }),
      message: 'node "n": capacity.extended must be an object',
    },
    {
      what: "extended resources as a number",
      n: rawNode({ capacity: { cpuMillis: 1, memoryBytes: 1, pods: 1, extended: 3 } }),
      message: 'node "n": capacity.extended must be an object',
    },
    {
      what: "a fractional extended resource",
      n: rawNode({ capacity: { cpuMillis: 1, memoryBytes: 1, pods: 1, extended: { "a/b": 1, "x/y": 0.5 } } }),
      message: 'node "n": capacity.extended["x/y"] must be a non-negative integer',
    },
    {
      what: "a negative pod count",
      n: rawNode({ capacity: { cpuMillis: 1, memoryBytes: 1, pods: -1 } }),
      message: 'node "n": capacity.pods must be a non-negative integer',
    },
    {
      what: "no pod count",
      n: rawNode({ capacity: { cpuMillis: 1, memoryBytes: 1 } }),
      message: 'node "n": capacity.pods must be a non-negative integer',
    },
    { what: "ports 0..65535", n: node("n", { hostPortRange: { min: 0, max: 65_535 } }), message: null },
    {
      what: "a max port of 65536",
      n: node("n", { hostPortRange: { min: 0, max: 65_536 } }),
      message: 'node "n": hostPortRange.min and max must be ports (0..65535)',
    },
    {
      what: "a min port of 65536",
      n: node("n", { hostPortRange: { min: 65_536, max: 65_535 } }),
      message: 'node "n": hostPortRange.min and max must be ports (0..65535)',
    },
    {
      what: "a min port of -1",
      n: node("n", { hostPortRange: { min: -1, max: 10 } }),
      message: 'node "n": hostPortRange.min and max must be ports (0..65535)',
    },
    {
      what: "no port range",
      n: rawNode({ hostPortRange: undefined }),
      message: 'node "n": hostPortRange.min and max must be ports (0..65535)',
    },
    { what: "reserved ports 0 and 65535", n: node("n", { reservedHostPorts: [0, 65_535] }), message: null },
    {
      what: "a reserved port of 65536",
      n: node("n", { reservedHostPorts: [80, 65_536] }),
      message: 'node "n": reservedHostPorts must be a list of ports (0..65535)',
    },
    {
      what: "reserved ports that are no list",
      n: rawNode({ reservedHostPorts: { 0: 80, length: 1 } }),
      message: 'node "n": reservedHostPorts must be a list of ports (0..65535)',
    },
  ])("takes a node with $what: $message", ({ n, message }) => {
    expect(snapshotProblem({ nodes: [n] })).toBe(message);
  });

  it("refuses a node id twice, even under another name", () => {
    expect(snapshotProblem({ nodes: [node("n"), node("m"), node("n", { name: "other" })] })).toBe(
      'node "n" appears twice in the snapshot',
    );
  });

  it.each<{ what: string; b: BoundPod; message: string | null }>([
    { what: "a valid bound pod", b: bound("b", "n"), message: null },
    { what: "a negative priority", b: bound("b", "n", { priority: -5 }), message: null },
    {
      what: "no requests",
      b: rawBound({ requests: undefined }),
      message: 'bound pod "b": requests is missing',
    },
    {
      what: "NaN memory",
      b: bound("b", "n", { requests: { cpuMillis: 1, memoryBytes: Number.NaN } }),
      message: 'bound pod "b": requests.memoryBytes must be a non-negative integer',
    },
    {
      what: "a fractional priority",
      b: bound("b", "n", { priority: 1.5 }),
      message: 'bound pod "b": priority must be an integer',
    },
  ])("takes $what: $message", ({ b, message }) => {
    expect(snapshotProblem({ nodes: [node("n")], pods: [b] })).toBe(message);
  });

  it.each([
    { allowed: 0, message: null },
    { allowed: -1, message: null },
    { allowed: 0.5, message: 'PodDisruptionBudget "pdb": disruptionsAllowed must be an integer' },
    { allowed: Number.NaN, message: 'PodDisruptionBudget "pdb": disruptionsAllowed must be an integer' },
  ])("takes a budget allowing $allowed disruptions: $message", ({ allowed, message }) => {
    const budget = { tenantId: "t", namespace: "ns", name: "pdb", disruptionsAllowed: allowed };
    expect(snapshotProblem({ disruptionBudgets: [budget] })).toBe(message);
  });

  it("refuses a pending pod id twice", () => {
    expect(() => assertUniquePendingIds([pod("a"), pod("b"), pod("a")])).toThrow(
      'pending pod "a" appears twice',
    );
    expect(() => assertUniquePendingIds([pod("a"), pod("b")])).not.toThrow();
  });
});

const spread = (c: Record<string, unknown>) => ({
  topologySpreadConstraints: [
    { maxSkew: 1, topologyKey: "zone", whenUnsatisfiable: "DoNotSchedule" },
    { maxSkew: 1, topologyKey: "zone", whenUnsatisfiable: "DoNotSchedule", ...c },
  ],
});
const nodePreferred = (weight: number) => ({
  affinity: {
    nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight, preference: {} }] },
  },
});
const podPreferred = (kind: "podAffinity" | "podAntiAffinity", weight: number, topologyKey = "zone") => ({
  affinity: {
    [kind]: {
      preferredDuringSchedulingIgnoredDuringExecution: [{ weight, podAffinityTerm: { topologyKey } }],
    },
  },
});
const podRequired = (kind: "podAffinity" | "podAntiAffinity", topologyKey: unknown) => ({
  affinity: { [kind]: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey }] } },
});

describe("pending pod validation", () => {
  it.each<{ what: string; fields: Record<string, unknown>; problem: string | null }>([
    { what: "a valid pod", fields: {}, problem: null },
    { what: "no tenant", fields: { tenantId: undefined }, problem: "tenantId must be a string" },
    { what: "no requests", fields: { requests: undefined }, problem: "requests is missing" },
    {
      what: "a fractional extended request",
      fields: { requests: { cpuMillis: 1, memoryBytes: 1, extended: { "berth.dev/gpu": 0.5 } } },
      problem: 'requests.extended["berth.dev/gpu"] must be a non-negative integer',
    },
    { what: "65536 host ports", fields: { hostPortCount: 65_536 }, problem: null },
    {
      what: "65537 host ports",
      fields: { hostPortCount: 65_537 },
      problem: "hostPortCount must be an integer from 0 to 65536",
    },
    {
      what: "-1 host ports",
      fields: { hostPortCount: -1 },
      problem: "hostPortCount must be an integer from 0 to 65536",
    },
    { what: "a negative priority", fields: { priority: -1_000 }, problem: null },
    {
      what: "an infinite priority",
      fields: { priority: Number.POSITIVE_INFINITY },
      problem: "priority must be a finite number",
    },
    {
      what: "a NaN createdSeq",
      fields: { createdSeq: Number.NaN },
      problem: "createdSeq must be a finite number",
    },
    {
      what: "no createdSeq",
      fields: { createdSeq: undefined },
      problem: "createdSeq must be a finite number",
    },
    { what: "maxSkew 1 and minDomains 1", fields: spread({ minDomains: 1 }), problem: null },
    {
      what: "maxSkew 1.5",
      fields: spread({ maxSkew: 1.5 }),
      problem: "topologySpreadConstraints[1].maxSkew must be an integer ≥ 1",
    },
    {
      what: "an empty topologyKey",
      fields: spread({ topologyKey: "" }),
      problem: "topologySpreadConstraints[1].topologyKey must not be empty",
    },
    {
      what: "no topologyKey",
      fields: spread({ topologyKey: undefined }),
      problem: "topologySpreadConstraints[1].topologyKey must not be empty",
    },
    {
      what: "an unknown whenUnsatisfiable",
      fields: spread({ whenUnsatisfiable: "Sometimes" }),
      problem: "topologySpreadConstraints[1].whenUnsatisfiable must be DoNotSchedule or ScheduleAnyway",
    },
    { what: "ScheduleAnyway", fields: spread({ whenUnsatisfiable: "ScheduleAnyway" }), problem: null },
    {
      what: "minDomains 0",
      fields: spread({ minDomains: 0 }),
      problem: "topologySpreadConstraints[1].minDomains must be an integer ≥ 1",
    },
    {
      what: "minDomains 1.5",
      fields: spread({ minDomains: 1.5 }),
      problem: "topologySpreadConstraints[1].minDomains must be an integer ≥ 1",
    },
    { what: "node preferred weights 1", fields: nodePreferred(1), problem: null },
    { what: "node preferred weights 100", fields: nodePreferred(100), problem: null },
    {
      what: "a node preferred weight 0",
      fields: nodePreferred(0),
      problem: "nodeAffinity preferred term 0: weight must be an integer 1..100",
    },
    {
      what: "a node preferred weight 1.5",
      fields: nodePreferred(1.5),
      problem: "nodeAffinity preferred term 0: weight must be an integer 1..100",
    },
    { what: "pod preferred affinity weight 100", fields: podPreferred("podAffinity", 100), problem: null },
    {
      what: "pod preferred anti-affinity weight 1",
      fields: podPreferred("podAntiAffinity", 1),
      problem: null,
    },
    {
      what: "pod preferred affinity weight 0",
      fields: podPreferred("podAffinity", 0),
      problem: "pod (anti-)affinity preferred terms need a weight of 1..100",
    },
    {
      what: "pod preferred anti-affinity weight 101",
      fields: podPreferred("podAntiAffinity", 101),
      problem: "pod (anti-)affinity preferred terms need a weight of 1..100",
    },
    {
      what: "a preferred term without topologyKey",
      fields: podPreferred("podAffinity", 5, ""),
      problem: "pod (anti-)affinity terms need a topologyKey",
    },
    {
      what: "a required affinity term without topologyKey",
      fields: podRequired("podAffinity", undefined),
      problem: "pod (anti-)affinity terms need a topologyKey",
    },
    {
      what: "a required anti-affinity term by zone",
      fields: podRequired("podAntiAffinity", "zone"),
      problem: null,
    },
    { what: "preemptionPolicy Never", fields: { preemptionPolicy: "Never" }, problem: null },
    {
      what: "preemptionPolicy PreemptLowerPriority",
      fields: { preemptionPolicy: "PreemptLowerPriority" },
      problem: null,
    },
    {
      what: "an unknown preemptionPolicy",
      fields: { preemptionPolicy: "Always" },
      problem: "preemptionPolicy must be PreemptLowerPriority or Never",
    },
  ])("takes a pod with $what: $problem", ({ fields, problem }) => {
    expect(pendingPodProblem(rawPod(fields))).toBe(problem);
  });
});
