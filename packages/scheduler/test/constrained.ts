import fc from "fast-check";
import type {
  BoundPod,
  DisruptionBudget,
  NamespaceState,
  NodeSelectorTerm,
  NodeState,
  PendingPod,
  PodAffinityTerm,
  Snapshot,
  TopologySpreadConstraint,
} from "../src/types";

/**
 * Small clusters where the new constraints bite: zones on some nodes only, pods of two apps in
 * two tenants and two namespaces, required node affinity, topology spread, pod affinity and
 * anti-affinity (by hostname and zone), priorities, extended resources and disruption budgets.
 */

export const ZONE = "topology.kubernetes.io/zone";
export const HOST = "kubernetes.io/hostname";
export const GPU = "berth.dev/gpu";

const app = fc.constantFrom("web", "db");
const tenant = fc.constantFrom("ten_a", "ten_b");
const namespace = fc.constantFrom("default", "other");
const topologyKey = fc.constantFrom(ZONE, HOST);

const nodeSpec = fc.record({
  name: fc.constantFrom("n1", "n2", "n3", "n4", "n5"),
  zone: fc.option(fc.constantFrom("a", "b", "c"), { nil: undefined }),
  gen: fc.constantFrom("1", "2", "3"),
  cpu: fc.integer({ min: 1, max: 6 }).map((n) => n * 500),
  pods: fc.integer({ min: 1, max: 5 }),
  gpus: fc.constantFrom(0, 0, 1, 2),
  ready: fc.integer({ min: 0, max: 9 }).map((n) => n > 0),
});

const constrainedNodes: fc.Arbitrary<NodeState[]> = fc
  .array(nodeSpec, { minLength: 1, maxLength: 6 })
  .map((specs) =>
    specs.map((s, i) => ({
      id: `node_${i}`,
      name: s.name,
      ready: s.ready,
      unschedulable: false,
      capacity: {
        cpuMillis: s.cpu,
        memoryBytes: 4096,
        pods: s.pods,
        ...(s.gpus > 0 ? { extended: { [GPU]: s.gpus } } : {}),
      },
      labels: { gen: s.gen, ...(s.zone !== undefined ? { [ZONE]: s.zone } : {}) },
      taints: [],
      hostPortRange: { min: 30000, max: 30003 },
    })),
  );

const affinityTerm: fc.Arbitrary<PodAffinityTerm> = fc.record(
  {
    labelSelector: app.map((a) => ({ matchLabels: { app: a } })),
    topologyKey,
    namespaces: fc.constantFrom(["default"], ["other"], ["default", "other"]),
    namespaceSelector: fc.constantFrom({}, { matchLabels: { team: "x" } }),
  },
  { requiredKeys: ["labelSelector", "topologyKey"] },
);

const spreadConstraint: fc.Arbitrary<TopologySpreadConstraint> = fc
  .record(
    {
      maxSkew: fc.integer({ min: 1, max: 2 }),
      topologyKey,
      whenUnsatisfiable: fc.constantFrom("DoNotSchedule" as const, "ScheduleAnyway" as const),
      labelSelector: app.map((a) => ({ matchLabels: { app: a } })),
      minDomains: fc.integer({ min: 1, max: 4 }),
      nodeAffinityPolicy: fc.constantFrom("Honor" as const, "Ignore" as const),
    },
    { requiredKeys: ["maxSkew", "topologyKey", "whenUnsatisfiable"] },
  )
  .map(({ minDomains, ...c }) =>
    // kube allows minDomains only with DoNotSchedule.
    c.whenUnsatisfiable === "DoNotSchedule" && minDomains !== undefined ? { ...c, minDomains } : c,
  );

const requests = fc.record({
  cpuMillis: fc.integer({ min: 0, max: 4 }).map((n) => n * 250),
  memoryBytes: fc.integer({ min: 0, max: 2 }).map((n) => n * 1024),
  gpus: fc.constantFrom(0, 0, 0, 1),
});

function toRequests(r: { cpuMillis: number; memoryBytes: number; gpus: number }) {
  return {
    cpuMillis: r.cpuMillis,
    memoryBytes: r.memoryBytes,
    ...(r.gpus > 0 ? { extended: { [GPU]: r.gpus } } : {}),
  };
}

const boundSpec = fc.record({
  node: fc.nat(),
  app,
  tenantId: tenant,
  namespace,
  requests,
  priority: fc.constantFrom(0, 5, 10),
  startedSeq: fc.integer({ min: 0, max: 5 }),
  terminating: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
  anti: fc.option(affinityTerm, { nil: undefined, freq: 4 }),
});

const pendingSpec = fc.record({
  app,
  tenantId: tenant,
  namespace,
  requests,
  priority: fc.constantFrom(0, 5, 10),
  never: fc.integer({ min: 0, max: 4 }).map((n) => n === 0),
  // Nominated by an earlier plan's preemption (sometimes to a node that is gone).
  nominated: fc.option(fc.constantFrom("n1", "n2", "n3", "gone"), { nil: undefined, freq: 4 }),
  createdSeq: fc.integer({ min: 0, max: 10 }),
  nodeAffinity: fc.option(
    fc.constantFrom<NodeSelectorTerm[]>(
      { matchExpressions: [{ key: ZONE, operator: "In" as const, values: ["a", "b"] }] },
      { matchExpressions: [{ key: "gen", operator: "Gt" as const, values: ["1"] }] },
      { matchExpressions: [{ key: ZONE, operator: "DoesNotExist" as const }] },
      { matchFields: [{ key: "metadata.name", operator: "NotIn" as const, values: ["n1"] }] },
    ),
    { nil: undefined },
  ),
  spread: fc.array(spreadConstraint, { maxLength: 2 }),
  affinity: fc.option(fc.array(affinityTerm, { minLength: 1, maxLength: 2 }), { nil: undefined, freq: 3 }),
  anti: fc.option(fc.array(affinityTerm, { minLength: 1, maxLength: 1 }), { nil: undefined, freq: 2 }),
});

type PendingSpec = typeof pendingSpec extends fc.Arbitrary<infer T> ? T : never;

function toPending(s: PendingSpec, i: number): PendingPod {
  const pod: PendingPod = {
    id: `pod_${i}`,
    tenantId: s.tenantId,
    namespace: s.namespace,
    labels: { app: s.app },
    requests: toRequests(s.requests),
    hostPortCount: 0,
    priority: s.priority,
    createdSeq: s.createdSeq,
  };
  if (s.never) pod.preemptionPolicy = "Never";
  if (s.nominated !== undefined) pod.nominatedNodeName = s.nominated;
  if (s.spread.length > 0) pod.topologySpreadConstraints = s.spread;
  const affinity: NonNullable<PendingPod["affinity"]> = {};
  if (s.nodeAffinity)
    affinity.nodeAffinity = {
      requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [s.nodeAffinity] },
    };
  if (s.affinity) affinity.podAffinity = { requiredDuringSchedulingIgnoredDuringExecution: s.affinity };
  if (s.anti) affinity.podAntiAffinity = { requiredDuringSchedulingIgnoredDuringExecution: s.anti };
  if (Object.keys(affinity).length > 0) pod.affinity = affinity;
  return pod;
}

export interface ConstrainedScenario {
  snapshot: Snapshot;
  pending: PendingPod[];
}

export const constrainedScenario: fc.Arbitrary<ConstrainedScenario> = constrainedNodes.chain((nodes) =>
  fc
    .record({
      bound: fc.array(boundSpec, { maxLength: 10 }),
      pending: fc.array(pendingSpec, { maxLength: 12 }),
      budgets: fc.array(
        fc.record({ app, tenantId: tenant, namespace, allowed: fc.integer({ min: 0, max: 2 }) }),
        { maxLength: 2 },
      ),
      teamX: fc.constantFrom<string[]>([], ["other"], ["default", "other"]),
    })
    .map(({ bound, pending, budgets, teamX }) => {
      const pods: BoundPod[] = bound.map((b, i) => {
        const pod: BoundPod = {
          id: `bound_${i}`,
          nodeId: `node_${b.node % nodes.length}`,
          requests: toRequests(b.requests),
          hostPorts: [],
          tenantId: b.tenantId,
          namespace: b.namespace,
          labels: { app: b.app },
          priority: b.priority,
          startedSeq: b.startedSeq,
        };
        if (b.terminating) pod.terminating = true;
        if (b.anti)
          pod.affinity = { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [b.anti] } };
        return pod;
      });
      const disruptionBudgets: DisruptionBudget[] = budgets.map((b, i) => ({
        tenantId: b.tenantId,
        namespace: b.namespace,
        name: `pdb_${i}`,
        selector: { matchLabels: { app: b.app } },
        disruptionsAllowed: b.allowed,
      }));
      const namespaces = ["ten_a", "ten_b"].flatMap((tenantId) =>
        ["default", "other"].map(
          (name): NamespaceState => ({
            tenantId,
            name,
            labels: teamX.includes(name) ? { team: "x" } : {},
          }),
        ),
      );
      return { snapshot: { nodes, pods, namespaces, disruptionBudgets }, pending: pending.map(toPending) };
    }),
);
