/**
 * Benchmark: synthetic clusters built from a seeded PRNG (same numbers every run), each scheduled
 * a few times; prints one row per case with the median wall time and the median CPU time (the
 * latter is steadier on a shared machine). pods/s is pods tried (placed + preempting +
 * unschedulable) per wall-clock second.
 *
 *   npx tsx packages/scheduler/bench/schedule.bench.ts
 */
import { performance } from "node:perf_hooks";
import type {
  BoundPod,
  NodeState,
  PendingPod,
  ScheduleOptions,
  ScheduleRequest,
  Snapshot,
} from "../src/index";
import { schedule } from "../src/index";
import { pick, prng } from "./prng";

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
const SHAPES = [
  { cpuMillis: 100, memoryBytes: 128 * MiB },
  { cpuMillis: 250, memoryBytes: 512 * MiB },
  { cpuMillis: 500, memoryBytes: 1 * GiB },
  { cpuMillis: 1000, memoryBytes: 2 * GiB },
  { cpuMillis: 2000, memoryBytes: 4 * GiB },
  { cpuMillis: 0, memoryBytes: 0 },
];
const ZONES = ["a", "b", "c"];

function buildNodes(rand: () => number, count: number): NodeState[] {
  const nodes: NodeState[] = [];
  for (let i = 0; i < count; i++) {
    const cores = pick(rand, [4, 8, 16, 32]);
    const gpu = rand() < 0.1;
    const taints: NodeState["taints"] = [];
    if (gpu) taints.push({ key: "gpu", value: "true", effect: "NoSchedule" });
    if (rand() < 0.05) taints.push({ key: "spot", effect: "PreferNoSchedule" });
    nodes.push({
      id: `node_${i.toString(36).padStart(5, "0")}`,
      name: `ip-10-0-${i >> 8}-${i & 255}`,
      ready: rand() > 0.02,
      unschedulable: rand() < 0.02,
      capacity: { cpuMillis: cores * 1000, memoryBytes: cores * pick(rand, [2, 4, 8]) * GiB, pods: 110 },
      labels: { zone: pick(rand, ZONES), pool: gpu ? "gpu" : "general" },
      taints,
      hostPortRange: { min: 30000, max: 30099 },
    });
  }
  return nodes;
}

/** Fills about a third of each node with already-bound pods. */
function buildBound(rand: () => number, nodes: readonly NodeState[]): BoundPod[] {
  const pods: BoundPod[] = [];
  for (const node of nodes) {
    let cpu = 0;
    while (cpu < node.capacity.cpuMillis / 3) {
      const requests = pick(rand, SHAPES.slice(0, 5));
      cpu += requests.cpuMillis;
      pods.push({
        id: `bound_${pods.length}`,
        nodeId: node.id,
        requests,
        hostPorts: rand() < 0.2 ? [30000 + Math.floor(rand() * 100)] : [],
        tenantId: `ten_${Math.floor(rand() * 20)}`,
        namespace: "default",
        ownerId: `dep_bound_${Math.floor(rand() * 200)}`,
      });
    }
  }
  return pods;
}

/** Deployments of 1–50 replicas from 20 tenants of very different sizes. */
function buildPending(rand: () => number, count: number, seqStart = 0): PendingPod[] {
  const pods: PendingPod[] = [];
  let deployment = 0;
  while (pods.length < count) {
    const tenant = `ten_${Math.floor(rand() * rand() * 20)}`;
    const replicas = Math.min(count - pods.length, 1 + Math.floor(rand() * 50));
    const requests = pick(rand, SHAPES);
    const ports = rand() < 0.3 ? 1 + Math.floor(rand() * 2) : 0;
    const gpu = rand() < 0.05;
    const zonal = rand() < 0.1;
    const priority = pick(rand, [0, 0, 0, 100, 1000]);
    const ownerId = `dep_${deployment++}`;
    for (let r = 0; r < replicas; r++) {
      const pod: PendingPod = {
        id: `pod_${pods.length}`,
        tenantId: tenant,
        namespace: "default",
        ownerId,
        requests,
        hostPortCount: ports,
        priority,
        createdSeq: seqStart + pods.length,
      };
      if (gpu) {
        pod.nodeSelector = { pool: "gpu" };
        pod.tolerations = [{ key: "gpu", operator: "Exists", effect: "NoSchedule" }];
      } else if (zonal) {
        pod.nodeSelector = { zone: pick(rand, ZONES) };
      }
      pods.push(pod);
    }
  }
  return pods;
}

interface Case {
  name: string;
  snapshot: Snapshot;
  request: ScheduleRequest;
  options?: ScheduleOptions;
  runs: number;
}

function cluster(
  nodes: number,
  pending: number,
  seed: number,
): { snapshot: Snapshot; request: ScheduleRequest } {
  const rand = prng(seed);
  const nodeList = buildNodes(rand, nodes);
  return {
    snapshot: { nodes: nodeList, pods: buildBound(rand, nodeList) },
    request: { pending: buildPending(rand, pending) },
  };
}

function fairness(nodes: number, bigTenantPods: number): { snapshot: Snapshot; request: ScheduleRequest } {
  const rand = prng(7);
  const nodeList = buildNodes(rand, nodes);
  const big = buildPending(rand, bigTenantPods).map((p) => ({ ...p, tenantId: "ten_A", priority: 0 }));
  const small = buildPending(rand, 10, bigTenantPods).map((p) => ({
    ...p,
    id: `b_${p.id}`,
    tenantId: "ten_B",
    priority: 0,
  }));
  return {
    snapshot: { nodes: nodeList, pods: [] },
    request: { pending: [...big, ...small], maxPlacements: 500 },
  };
}

const cases: Case[] = [
  { name: "small", ...cluster(10, 100, 1), runs: 21 },
  { name: "medium", ...cluster(100, 1_000, 2), runs: 11 },
  { name: "large", ...cluster(1_000, 10_000, 3), runs: 7 },
  {
    name: "large, no sampling",
    ...cluster(1_000, 10_000, 3),
    options: { percentageOfNodesToScore: 100 },
    runs: 5,
  },
  {
    name: "large, oversubscribed, preemption on",
    ...cluster(1_000, 30_000, 5),
    options: { preemption: true },
    runs: 5,
  },
  { name: "x-large", ...cluster(5_000, 50_000, 4), runs: 3 },
  { name: "fairness A=100k B=10, max 500", ...fairness(1_000, 100_000), runs: 5 },
];

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

const rows: Record<string, string | number>[] = [];
for (const c of cases) {
  schedule(c.snapshot, c.request, c.options); // warm-up
  const times: number[] = [];
  const cpuTimes: number[] = [];
  let plan = schedule(c.snapshot, c.request, c.options);
  for (let i = 0; i < c.runs; i++) {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    plan = schedule(c.snapshot, c.request, c.options);
    times.push(performance.now() - t0);
    const cpu = process.cpuUsage(cpu0);
    cpuTimes.push((cpu.user + cpu.system) / 1000);
  }
  const ms = median(times);
  const attempted = plan.placements.length + plan.preemptions.length + plan.unschedulable.length;
  const placedB = plan.placements.filter((p) => p.podId.startsWith("b_")).length;
  rows.push({
    case: c.name,
    nodes: c.snapshot.nodes.length,
    pending: c.request.pending.length,
    placed: plan.placements.length,
    preempting: plan.preemptions.length,
    unschedulable: plan.unschedulable.length,
    deferred: plan.deferred.length,
    "median ms": Number(ms.toFixed(1)),
    // CPU time of this process: less disturbed than wall time when the machine is shared.
    "cpu ms": Number(median(cpuTimes).toFixed(1)),
    "pods/s": Math.round(attempted / (ms / 1000)),
    ...(c.name.startsWith("fairness") ? { note: `B placed ${placedB}/10` } : {}),
  });
}
console.table(rows);
