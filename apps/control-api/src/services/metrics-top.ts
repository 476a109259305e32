import { formatCpuMillis, formatMemoryBytes } from "@berth/core";
import { nodes, pods, type Tx, withTenant } from "@berth/db";
import { dnsLabelName } from "@berth/kube";
import { sql } from "drizzle-orm";
import { z } from "zod";
import type { Deps, UserCaller } from "../deps";
import { clusterId, loadCluster } from "./clusters";
import { timestamp } from "./replies";

/** A sample older than this is not "latest usage" any more (the agent is cut off, or the pod stopped). */
export const FRESH_MS = 120_000;

/** Average millicores over a window: CPU nanoseconds per millisecond of wall time, / 1000. */
export const millicores = (cpuNanos: bigint | string | number, windowMs: number): number =>
  windowMs > 0 ? Math.round(Number(BigInt(cpuNanos)) / windowMs / 1000) : 0;

export const topPodsInput = z
  .object({
    clusterId,
    namespace: dnsLabelName.optional(),
    limit: z.coerce.number().int().min(1).max(10_000).default(500),
  })
  .strict();

/** When a sample was taken and the window it covers (`10s`), as metrics.k8s.io says them. */
const sampled = {
  timestamp,
  window: z.string().regex(/^\d+s$/),
  cpuMillis: z.number().int(),
  memoryBytes: z.number().int(),
};
export const podUsageReply = z.strictObject({
  namespace: z.string(),
  name: z.string(),
  podId: z.string(),
  ...sampled,
  usage: z
    .strictObject({ cpu: z.string(), memory: z.string() })
    .describe("kubectl top's columns: `123m`, `45Mi`"),
});
export type PodUsage = z.output<typeof podUsageReply>;

/** The latest sample of every live pod of the cluster that has a fresh one (kubectl top pods). */
export async function topPods(
  deps: Deps,
  caller: UserCaller,
  input: z.infer<typeof topPodsInput>,
): Promise<{ items: PodUsage[] }> {
  return withTenant(deps.db, caller.tenantId, async (tx) => {
    await loadCluster(tx, input.clusterId);
    return { items: await latestPodUsage(tx, input, new Date(deps.now().getTime() - FRESH_MS)) };
  });
}

/** One index probe per pod: pod_metrics' key is (pod_id, resolution, ts). */
export async function latestPodUsage(
  tx: Tx,
  input: { clusterId: string; namespace?: string | undefined; limit: number },
  since: Date,
): Promise<PodUsage[]> {
  const rows = (await tx.execute(sql`
    select p.id, p.name, p.namespace, m.ts, m.window_ms, m.cpu_nanos::text as cpu_nanos, m.memory_bytes
    from ${pods} p
    join lateral (
      select ts, window_ms, cpu_nanos, memory_bytes from pod_metrics
      where pod_id = p.id and resolution = 0 and ts > ${since.toISOString()}::timestamptz
      order by ts desc limit 1
    ) m on true
    where p.cluster_id = ${input.clusterId} and p.deletion_requested_at is null
      ${input.namespace ? sql`and p.namespace = ${input.namespace}` : sql``}
    order by p.namespace, p.name
    limit ${input.limit}`)) as unknown as {
    id: string;
    name: string;
    namespace: string;
    ts: string | Date;
    window_ms: number;
    cpu_nanos: string;
    memory_bytes: string | number;
  }[];
  return rows.map((r) => {
    const cpu = millicores(r.cpu_nanos, r.window_ms);
    const memory = Number(r.memory_bytes);
    return {
      namespace: r.namespace,
      name: r.name,
      podId: r.id,
      timestamp: new Date(r.ts).toISOString(),
      window: `${Math.round(r.window_ms / 1000)}s`,
      cpuMillis: cpu,
      memoryBytes: memory,
      usage: { cpu: `${cpu}m`, memory: `${Math.round(memory / 1024 / 1024)}Mi` },
    };
  });
}

export const topNodesInput = z.object({ clusterId }).strict();

export const nodeUsageReply = z.strictObject({
  name: z.string(),
  nodeId: z.string(),
  ...sampled,
  cpuPercent: z.number().int().describe("of the node's capacity, in whole percent (kubectl top nodes' CPU%)"),
  memoryPercent: z.number().int(),
  capacity: z.strictObject({ cpu: z.string(), memory: z.string() }),
});
type NodeUsage = z.output<typeof nodeUsageReply>;

/** The latest sample of every node of the cluster that has a fresh one (kubectl top nodes). */
export async function topNodes(
  deps: Deps,
  caller: UserCaller,
  input: z.infer<typeof topNodesInput>,
): Promise<{ items: NodeUsage[] }> {
  return withTenant(deps.db, caller.tenantId, async (tx) => {
    await loadCluster(tx, input.clusterId);
    const since = new Date(deps.now().getTime() - FRESH_MS);
    const rows = (await tx.execute(sql`
      select n.id, n.name, n.cpu_millis, n.memory_bytes as capacity_bytes, m.ts, m.window_ms,
        m.cpu_nanos::text as cpu_nanos, m.memory_bytes
      from ${nodes} n
      join lateral (
        select ts, window_ms, cpu_nanos, memory_bytes from node_metrics
        where node_id = n.id and resolution = 0 and ts > ${since.toISOString()}::timestamptz
        order by ts desc limit 1
      ) m on true
      where n.cluster_id = ${input.clusterId} and n.status <> 'left'
      order by n.name`)) as unknown as {
      id: string;
      name: string;
      cpu_millis: number;
      capacity_bytes: string | number;
      ts: string | Date;
      window_ms: number;
      cpu_nanos: string;
      memory_bytes: string | number;
    }[];
    const items: NodeUsage[] = rows.map((r) => {
      const cpu = millicores(r.cpu_nanos, r.window_ms);
      const memory = Number(r.memory_bytes);
      const capacity = Number(r.capacity_bytes);
      return {
        name: r.name,
        nodeId: r.id,
        timestamp: new Date(r.ts).toISOString(),
        window: `${Math.round(r.window_ms / 1000)}s`,
        cpuMillis: cpu,
        memoryBytes: memory,
        cpuPercent: Math.round((cpu * 100) / Math.max(1, r.cpu_millis)),
        memoryPercent: Math.round((memory * 100) / Math.max(1, capacity)),
        capacity: { cpu: formatCpuMillis(r.cpu_millis), memory: formatMemoryBytes(capacity) },
      };
    });
    return { items };
  });
}
