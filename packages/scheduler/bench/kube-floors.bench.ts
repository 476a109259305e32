/**
 * The scheduler against kube-scheduler's published floors at 5,000 nodes (issue #14): pods/s for
 * plain pods, topology spread, required node affinity and required pod anti-affinity, plus
 * packing quality under MostAllocated. Each case is built from a seeded PRNG, scheduled once to
 * warm up and then `--runs` times (default 5); the figures are medians. pods/s is per wall-clock
 * second (the JSON line); pods/cpu-s per second of the process's CPU time, steadier on a shared
 * machine. Packing overhead is nodes used over ⌈Σ requests / node size⌉, minus 1, in %.
 *
 *   npm run bench:scheduler                    # table
 *   npm run bench:scheduler -- --json          # table, then one JSON line last
 *   npm run bench:scheduler -- --pods 1000     # fewer pods per case (a busy machine)
 *   npm run bench:scheduler -- --case spread   # one case (plain, spread, nodeAffinity, podAntiAffinity, packing)
 */
import { performance } from "node:perf_hooks";
import type { NodeState, PendingPod, Plan, ScheduleOptions, Snapshot } from "../src/index";
import { schedule } from "../src/index";
import { pick, prng } from "./prng";

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
const ZONE = "topology.kubernetes.io/zone";
const ZONES = ["zone-a", "zone-b", "zone-c"];
const NODES = 5_000;
/** kube-scheduler's floors at 5,000 nodes, pods/s (its scheduler_perf thresholds). */
const FLOORS = { plain: 810, spread: 460, nodeAffinity: 220, podAntiAffinity: 60 };

const args = process.argv.slice(2);
const flag = (name: string) => {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : undefined;
};
const json = args.includes("--json");
const runs = Number(flag("--runs") ?? 5);
const podsPerCase = Number(flag("--pods") ?? 5_000);
const only = flag("--case");

const SHAPES = [
  { cpuMillis: 100, memoryBytes: 128 * MiB },
  { cpuMillis: 250, memoryBytes: 512 * MiB },
  { cpuMillis: 500, memoryBytes: 1 * GiB },
  { cpuMillis: 1000, memoryBytes: 2 * GiB },
  { cpuMillis: 2000, memoryBytes: 4 * GiB },
];

/** 5,000 ready nodes of one size (16 cores, 64 GiB, 110 pods) spread over three zones. */
function nodes(count: number): NodeState[] {
  return Array.from({ length: count }, (_, i) => ({
    id: `node_${i.toString(36).padStart(5, "0")}`,
    name: `ip-10-0-${i >> 8}-${i & 255}`,
    ready: true,
    unschedulable: false,
    capacity: { cpuMillis: 16_000, memoryBytes: 64 * GiB, pods: 110 },
    labels: { [ZONE]: ZONES[i % ZONES.length] as string, pool: "general" },
    taints: [],
    hostPortRange: { min: 30000, max: 30099 },
  }));
}

/** Deployments of 1–50 replicas, 20 tenants; `decorate` adds the case's constraint per deployment. */
function pending(seed: number, count: number, decorate: (pod: PendingPod, app: string) => void = () => {}) {
  const rand = prng(seed);
  const pods: PendingPod[] = [];
  for (let deployment = 0; pods.length < count; deployment++) {
    const replicas = Math.min(count - pods.length, 1 + Math.floor(rand() * 50));
    const requests = pick(rand, SHAPES);
    const tenantId = `ten_${Math.floor(rand() * rand() * 20)}`;
    const app = `app_${deployment}`;
    for (let r = 0; r < replicas; r++) {
      const pod: PendingPod = {
        id: `pod_${pods.length}`,
        tenantId,
        namespace: "default",
        ownerId: `dep_${deployment}`,
        labels: { app },
        requests,
        hostPortCount: 0,
        priority: 0,
        createdSeq: pods.length,
      };
      decorate(pod, app);
      pods.push(pod);
    }
  }
  return pods;
}

interface Case {
  key: keyof typeof FLOORS | "packing";
  name: string;
  snapshot: Snapshot;
  pending: PendingPod[];
  options?: ScheduleOptions;
}

const cluster: Snapshot = { nodes: nodes(NODES), pods: [] };

const cases: Case[] = [
  { key: "plain", name: "plain pods", snapshot: cluster, pending: pending(1, podsPerCase) },
  {
    key: "spread",
    name: "topology spread (zone, maxSkew 1, DoNotSchedule)",
    snapshot: cluster,
    pending: pending(2, podsPerCase, (pod, app) => {
      pod.topologySpreadConstraints = [
        {
          maxSkew: 1,
          topologyKey: ZONE,
          whenUnsatisfiable: "DoNotSchedule",
          labelSelector: { matchLabels: { app } },
        },
      ];
    }),
  },
  {
    key: "nodeAffinity",
    name: "required node affinity (zone In [a, b])",
    snapshot: cluster,
    pending: pending(3, podsPerCase, (pod) => {
      pod.affinity = {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [
              { matchExpressions: [{ key: ZONE, operator: "In", values: ["zone-a", "zone-b"] }] },
            ],
          },
        },
      };
    }),
  },
  {
    key: "podAntiAffinity",
    name: "required pod anti-affinity (hostname, own app)",
    snapshot: cluster,
    pending: pending(4, podsPerCase, (pod, app) => {
      pod.affinity = {
        podAntiAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: [
            { labelSelector: { matchLabels: { app } }, topologyKey: "kubernetes.io/hostname" },
          ],
        },
      };
    }),
  },
  {
    key: "packing",
    name: "packing: MostAllocated, all nodes scored",
    snapshot: cluster,
    pending: pending(5, podsPerCase),
    // A bin-packing cluster's settings: score every feasible node (sampling scatters pods across
    // the cluster) and leave out SpreadOwner, which pulls replicas apart.
    options: {
      scoringStrategy: { type: "MostAllocated" },
      percentageOfNodesToScore: 100,
      weights: { SpreadOwner: 0 },
    },
  },
];

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

/** Nodes used versus ⌈Σ requests / node size⌉ over cpu and memory (all nodes are one size). */
function packingOverheadPct(c: Case, plan: Plan): number {
  const size = c.snapshot.nodes[0]?.capacity ?? { cpuMillis: 1, memoryBytes: 1 };
  const byId = new Map(c.pending.map((p) => [p.id, p]));
  let cpu = 0;
  let memory = 0;
  for (const placement of plan.placements) {
    const requests = byId.get(placement.podId)?.requests;
    cpu += requests?.cpuMillis ?? 0;
    memory += requests?.memoryBytes ?? 0;
  }
  const lowerBound = Math.max(Math.ceil(cpu / size.cpuMillis), Math.ceil(memory / size.memoryBytes));
  const used = new Set(plan.placements.map((p) => p.nodeId)).size;
  return lowerBound === 0 ? 0 : (100 * (used - lowerBound)) / lowerBound;
}

const rows: Record<string, string | number>[] = [];
const result: Record<string, number> = {};
for (const c of cases.filter((x) => only === undefined || x.key === only)) {
  const request = { pending: c.pending };
  let plan = schedule(c.snapshot, request, c.options); // warm-up
  const times: number[] = [];
  const cpuTimes: number[] = [];
  for (let i = 0; i < runs; i++) {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    plan = schedule(c.snapshot, request, c.options);
    times.push(performance.now() - t0);
    const cpu = process.cpuUsage(cpu0);
    cpuTimes.push((cpu.user + cpu.system) / 1000);
  }
  const attempted = plan.placements.length + plan.unschedulable.length + plan.preemptions.length;
  const podsPerSecond = Math.round(attempted / (median(times) / 1000));
  const row: Record<string, string | number> = {
    case: c.name,
    nodes: c.snapshot.nodes.length,
    pods: c.pending.length,
    placed: plan.placements.length,
    unschedulable: plan.unschedulable.length,
    "median ms": Number(median(times).toFixed(1)),
    "cpu ms": Number(median(cpuTimes).toFixed(1)),
    "pods/s": podsPerSecond,
    // Per second of this process's CPU time: what one core does, whatever else the machine runs.
    "pods/cpu-s": Math.round(attempted / (median(cpuTimes) / 1000)),
  };
  if (c.key === "packing") {
    const overhead = packingOverheadPct(c, plan);
    row["nodes used"] = new Set(plan.placements.map((p) => p.nodeId)).size;
    row["overhead %"] = Number(overhead.toFixed(2));
    result.packingOverheadPct = Number(overhead.toFixed(2));
  } else {
    row["× kube floor"] = Number((podsPerSecond / FLOORS[c.key]).toFixed(1));
    result[c.key] = podsPerSecond;
  }
  rows.push(row);
}
console.table(rows);
if (json) console.log(JSON.stringify(result));
