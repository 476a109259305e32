import { createHash } from "node:crypto";
import { HOUR_MS, type UsageEvent } from "./usage";

/**
 * A generated workload of usage events for the exactness test and the bench: `distinct` events
 * over a few tenants, clusters, namespaces, label values and hours, delivered in a shuffled order
 * with `replayed` of them sent a second time and `late` of them held back and sent at the end
 * (for hours up to 34 days old). Deterministic for a seed.
 */
export interface Workload {
  /** Batches in delivery order. */
  batches: UsageEvent[][];
  /** Every distinct event once (the ground truth's input). */
  distinct: UsageEvent[];
  delivered: number;
}

const METERS = ["cluster_hours", "node_hours", "pod_vcpu_seconds", "pod_memory_gib_seconds"] as const;

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function generateWorkload(opts: {
  tenants: readonly string[];
  clustersPerTenant: Record<string, readonly string[]>;
  distinct: number;
  replayedShare: number;
  lateShare: number;
  now: Date;
  batchSize: number;
  seed?: number;
}): Workload {
  const random = rng(opts.seed ?? 42);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;
  const nowHour = Math.floor(opts.now.getTime() / HOUR_MS) * HOUR_MS;
  const onTime: UsageEvent[] = [];
  const late: UsageEvent[] = [];
  for (let i = 0; i < opts.distinct; i++) {
    const tenantId = pick(opts.tenants);
    const isLate = random() < opts.lateShare;
    // On-time events fall in the last 48 hours; late ones 3 to 34 days back.
    const hoursBack = isLate ? 72 + Math.floor(random() * 31 * 24) : 1 + Math.floor(random() * 48);
    const meter = pick(METERS);
    const e: UsageEvent = {
      id: `ue_${createHash("sha256")
        .update(`${opts.seed ?? 42}|${i}`)
        .digest("hex")
        .slice(0, 32)}`,
      tenantId,
      clusterId: pick(opts.clustersPerTenant[tenantId] ?? []),
      namespace: meter.startsWith("pod_") ? pick(["default", "web", "batch"]) : "",
      meter,
      subjectId: `sub-${Math.floor(random() * 500)}`,
      hour: new Date(nowHour - hoursBack * HOUR_MS),
      raw: BigInt(1 + Math.floor(random() * 3_600_000)) * BigInt(1 + Math.floor(random() * 4000)),
      labels: { team: pick(["red", "blue", "green"]), env: pick(["prod", "dev"]) },
    };
    (isLate ? late : onTime).push(e);
  }
  const replays = [...onTime, ...late].filter(() => random() < opts.replayedShare);
  const stream = [...onTime, ...replays];
  for (let i = stream.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [stream[i], stream[j]] = [stream[j] as UsageEvent, stream[i] as UsageEvent];
  }
  stream.push(...late);
  const batches: UsageEvent[][] = [];
  for (let i = 0; i < stream.length; i += opts.batchSize) batches.push(stream.slice(i, i + opts.batchSize));
  return { batches, distinct: [...onTime, ...late], delivered: stream.length };
}

/** The ground truth, summed in plain JS from the distinct events: raw per tenant, cluster and meter. */
export function groundTruth(distinct: readonly UsageEvent[]): Map<string, bigint> {
  const sums = new Map<string, bigint>();
  for (const e of distinct) {
    const key = `${e.tenantId}|${e.clusterId}|${e.meter}`;
    sums.set(key, (sums.get(key) ?? 0n) + e.raw);
  }
  return sums;
}
