import { withTenant } from "@berth/db";
import { sql } from "drizzle-orm";
import { z } from "zod";
import type { Deps, UserCaller } from "../deps";
import { clusterId, loadCluster } from "./clusters";
import { FRESH_MS, latestPodUsage } from "./metrics-top";

export const prometheusInput = z.object({ clusterId }).strict();

const HELP = {
  berth_pod_cpu_usage_cores: ["gauge", "CPU used by the pod over its last sample window, in cores"],
  berth_pod_memory_working_set_bytes: ["gauge", "Memory working set of the pod's containers"],
  berth_pod_restarts_total: ["counter", "Container restarts of the pod"],
  berth_node_cpu_usage_cores: ["gauge", "CPU used by the node over its last sample window, in cores"],
  berth_node_memory_working_set_bytes: ["gauge", "Memory in use on the node (total less available)"],
} as const satisfies Record<string, readonly [type: "gauge" | "counter", help: string]>;

/** One sample of the exposition: metric name, labels, value, and when it was measured. */
const promSample = z.strictObject({
  name: z.enum(Object.keys(HELP) as (keyof typeof HELP)[]),
  labels: z.record(z.string(), z.string()),
  value: z.number(),
  timestampMs: z.number().int().describe("Unix milliseconds"),
});
type PromSample = z.output<typeof promSample>;
export const prometheusReply = z.strictObject({ samples: z.array(promSample) });

/**
 * The cluster's latest samples as Prometheus series: what a tenant's Prometheus scrapes with the
 * tenant's own credentials (an API key as bearer token). Only the tenant's rows are read
 * (row-level security), only this cluster's are shown.
 */
export async function prometheusSamples(
  deps: Deps,
  caller: UserCaller,
  input: z.infer<typeof prometheusInput>,
): Promise<z.output<typeof prometheusReply>> {
  return withTenant(deps.db, caller.tenantId, async (tx) => {
    const cluster = await loadCluster(tx, input.clusterId);
    const since = new Date(deps.now().getTime() - FRESH_MS);
    const samples: PromSample[] = [];
    const restarts = new Map(
      (
        (await tx.execute(
          sql`select id, restarts from pods where cluster_id = ${input.clusterId} and deletion_requested_at is null`,
        )) as unknown as { id: string; restarts: number }[]
      ).map((r) => [r.id, r.restarts]),
    );
    for (const p of await latestPodUsage(tx, { clusterId: input.clusterId, limit: 10_000 }, since)) {
      const labels = { cluster: cluster.name, namespace: p.namespace, pod: p.name };
      const at = Date.parse(p.timestamp);
      samples.push({ name: "berth_pod_cpu_usage_cores", labels, value: p.cpuMillis / 1000, timestampMs: at });
      samples.push({
        name: "berth_pod_memory_working_set_bytes",
        labels,
        value: p.memoryBytes,
        timestampMs: at,
      });
      samples.push({
        name: "berth_pod_restarts_total",
        labels,
        value: restarts.get(p.podId) ?? 0,
        timestampMs: at,
      });
    }
    const nodeRows = (await tx.execute(sql`
      select n.name, m.ts, m.window_ms, m.cpu_nanos::text as cpu_nanos, m.memory_bytes
      from nodes n join lateral (
        select ts, window_ms, cpu_nanos, memory_bytes from node_metrics
        where node_id = n.id and resolution = 0 and ts > ${since.toISOString()}::timestamptz
        order by ts desc limit 1) m on true
      where n.cluster_id = ${input.clusterId} and n.status <> 'left' order by n.name`)) as unknown as {
      name: string;
      ts: string | Date;
      window_ms: number;
      cpu_nanos: string;
      memory_bytes: string | number;
    }[];
    for (const n of nodeRows) {
      const labels = { cluster: cluster.name, node: n.name };
      const at = new Date(n.ts).getTime();
      const cores = Number(BigInt(n.cpu_nanos)) / n.window_ms / 1e6;
      samples.push({
        name: "berth_node_cpu_usage_cores",
        labels,
        value: Math.round(cores * 1000) / 1000,
        timestampMs: at,
      });
      samples.push({
        name: "berth_node_memory_working_set_bytes",
        labels,
        value: Number(n.memory_bytes),
        timestampMs: at,
      });
    }
    return { samples };
  });
}

const escapeLabel = (v: string) => v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');

/** The text exposition format (version 0.0.4), series grouped under their HELP and TYPE. */
export function toPrometheusText(samples: readonly PromSample[]): string {
  const out: string[] = [];
  for (const [name, [type, help]] of Object.entries(HELP)) {
    const mine = samples.filter((s) => s.name === name);
    if (mine.length === 0) continue;
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const s of mine) {
      const labels = Object.entries(s.labels)
        .map(([k, v]) => `${k}="${escapeLabel(v)}"`)
        .join(",");
      out.push(`${name}{${labels}} ${s.value} ${s.timestampMs}`);
    }
  }
  return `${out.join("\n")}\n`;
}
