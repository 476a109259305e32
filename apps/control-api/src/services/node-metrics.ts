import { type Db, METRIC_TIERS, nodeMetrics, podMetrics, pods, systemStatement, withTenant } from "@berth/db";
import { type MetricsBatch, type MetricsReply, metricsReplySchema } from "@berth/protocol";
import { and, eq, inArray, sql } from "drizzle-orm";
import { z } from "zod";
import type { Deps, NodeCaller } from "../deps";
import { GroupCommit } from "./group-commit";

export const metricsReply = z.strictObject(metricsReplySchema.shape);

/** Working set × window, in whole byte-seconds (the unit measured memory usage is billed from). */
export function byteSeconds(memoryBytes: number, windowMs: number): bigint {
  return (BigInt(memoryBytes) * BigInt(windowMs)) / 1000n;
}

/** How far ahead of the control plane's clock a sample may be (clocks of nodes drift a little). */
const MAX_CLOCK_SKEW_MS = 60_000;

/**
 * Stores a node's batch of samples, raw tier. Only samples of pods bound to this node are kept (an
 * agent speaks for its own pods alone), and only samples the raw tier would still keep, taken no
 * later than now (with a little skew): nothing is stored that retention would never remove. A
 * sample already stored (same subject, same instant: an agent sending a batch again) is ignored.
 *
 * Written with the batches of other nodes that arrive within a few milliseconds, in one statement
 * (group-commit.ts); a batch that failed is written again alone, in the node's tenant transaction,
 * which says what is wrong.
 */
export async function ingestMetrics(
  deps: Deps,
  caller: NodeCaller,
  input: MetricsBatch,
): Promise<MetricsReply> {
  const now = deps.now().getTime();
  const rawKeepMs = (METRIC_TIERS[0]?.keepSeconds ?? 3_600) * 1000;
  const inRange = (s: { at: string }) => {
    const at = Date.parse(s.at);
    return at > now - rawKeepMs && at <= now + MAX_CLOCK_SKEW_MS;
  };
  const batch = { pods: input.pods.filter(inRange), node: input.node.filter(inRange) };
  if (batch.pods.length + batch.node.length === 0) return { accepted: 0 };
  const accepted = await metricsBatches(deps.db).submit({ caller, ...batch });
  if (accepted !== null) return { accepted };
  return ingestAlone(deps, caller, batch);
}

export interface NodeSamples {
  caller: Pick<NodeCaller, "tenantId" | "clusterId" | "nodeId">;
  pods: MetricsBatch["pods"];
  node: MetricsBatch["node"];
}

/** Usage columns of a sample, as the tables store them (exact integers, as text for bigint). */
const usage = (s: MetricsBatch["node"][number]) => ({
  ts: new Date(s.at).toISOString(),
  window_ms: s.windowMs,
  cpu_nanos: String(s.cpuNanos),
  memory_bytes: s.memoryBytes,
  memory_byte_seconds: String(byteSeconds(s.memoryBytes, s.windowMs)),
  rx_bytes: s.rxBytes,
  tx_bytes: s.txBytes,
});

/**
 * Many nodes' samples in one statement, as the system role: each row is pinned to the tenant,
 * cluster and node of the credential that sent it, and a pod's row is kept only if that pod is
 * bound to that node. Answers how many of each node's samples were new.
 */
export async function writeSamples(db: Db, batch: readonly NodeSamples[]): Promise<number[]> {
  const ref = (c: NodeSamples["caller"]) => ({
    tenant_id: c.tenantId,
    cluster_id: c.clusterId,
    node_id: c.nodeId,
  });
  const nodeRows = batch.flatMap((b) => b.node.map((s) => ({ ...ref(b.caller), ...usage(s) })));
  const podRows = batch.flatMap((b) =>
    b.pods.map((s) => ({ ...ref(b.caller), pod_id: s.podId, restarts: s.restarts, ...usage(s) })),
  );
  const columns = sql.raw(
    "tenant_id text, cluster_id text, node_id text, ts timestamptz, window_ms int, cpu_nanos text, memory_bytes bigint, memory_byte_seconds text, rx_bytes bigint, tx_bytes bigint",
  );
  const stored = (await systemStatement(db, (s) =>
    s.execute(sql`
      with node_in as (
        select * from jsonb_to_recordset(${JSON.stringify(nodeRows)}::jsonb) as x(${columns})
      ), pod_in as (
        select * from jsonb_to_recordset(${JSON.stringify(podRows)}::jsonb) as x(${columns}, pod_id text, restarts int)
      ), nodes_done as (
        insert into node_metrics (node_id, tenant_id, cluster_id, resolution, ts, window_ms, cpu_nanos,
                                  memory_bytes, memory_byte_seconds, rx_bytes, tx_bytes)
        select node_id, tenant_id, cluster_id, 0, ts, window_ms, cpu_nanos::bigint,
               memory_bytes, memory_byte_seconds::bigint, rx_bytes, tx_bytes
        from node_in
        on conflict do nothing
        returning node_id as id, ts
      ), pods_done as (
        insert into pod_metrics (pod_id, owner_id, tenant_id, cluster_id, resolution, ts, window_ms, cpu_nanos,
                                 memory_bytes, memory_byte_seconds, rx_bytes, tx_bytes, restarts)
        select x.pod_id, p.owner_id, x.tenant_id, x.cluster_id, 0, x.ts, x.window_ms, x.cpu_nanos::bigint,
               x.memory_bytes, x.memory_byte_seconds::bigint, x.rx_bytes, x.tx_bytes, x.restarts
        from pod_in x
        join pods p on p.id = x.pod_id and p.node_id = x.node_id
                   and p.cluster_id = x.cluster_id and p.tenant_id = x.tenant_id
        on conflict do nothing
        returning pod_id as id, ts
      )
      select id, ts from nodes_done union all select id, ts from pods_done`),
  )) as unknown as { id: string; ts: string | Date }[];
  // Each stored row is counted once, for the first node batch that carried it.
  const left = new Set(stored.map((r) => `${r.id}@${new Date(r.ts).getTime()}`));
  const take = (id: string, at: string) => (left.delete(`${id}@${Date.parse(at)}`) ? 1 : 0);
  return batch.map(
    (b) =>
      b.node.reduce((n, s) => n + take(b.caller.nodeId, s.at), 0) +
      b.pods.reduce((n, s) => n + take(s.podId, s.at), 0),
  );
}

const perDatabase = new WeakMap<Db, GroupCommit<NodeSamples, number>>();

/** The replica's batcher of nodes' samples for this database. */
function metricsBatches(db: Db): GroupCommit<NodeSamples, number> {
  let batches = perDatabase.get(db);
  if (!batches) {
    batches = new GroupCommit((batch) => writeSamples(db, batch));
    perDatabase.set(db, batches);
  }
  return batches;
}

/** One node's samples in its tenant's transaction (a batch they were part of failed). */
function ingestAlone(
  deps: Deps,
  caller: NodeCaller,
  batch: Pick<NodeSamples, "pods" | "node">,
): Promise<MetricsReply> {
  return withTenant(deps.db, caller.tenantId, async (tx) => {
    const podIds = [...new Set(batch.pods.map((s) => s.podId))];
    const owned =
      podIds.length === 0
        ? []
        : await tx
            .select({ id: pods.id, ownerId: pods.ownerId })
            .from(pods)
            .where(
              and(
                inArray(pods.id, podIds),
                eq(pods.nodeId, caller.nodeId),
                eq(pods.clusterId, caller.clusterId),
              ),
            );
    const ownerOf = new Map(owned.map((p) => [p.id, p.ownerId]));
    const base = { tenantId: caller.tenantId, clusterId: caller.clusterId, resolution: 0 };
    const podRows = batch.pods
      .filter((s) => ownerOf.has(s.podId))
      .map((s) => ({
        ...base,
        podId: s.podId,
        ownerId: ownerOf.get(s.podId) ?? null,
        ts: new Date(s.at),
        windowMs: s.windowMs,
        cpuNanos: BigInt(s.cpuNanos),
        memoryBytes: s.memoryBytes,
        memoryByteSeconds: byteSeconds(s.memoryBytes, s.windowMs),
        rxBytes: s.rxBytes,
        txBytes: s.txBytes,
        restarts: s.restarts,
      }));
    const nodeRows = batch.node.map((s) => ({
      ...base,
      nodeId: caller.nodeId,
      ts: new Date(s.at),
      windowMs: s.windowMs,
      cpuNanos: BigInt(s.cpuNanos),
      memoryBytes: s.memoryBytes,
      memoryByteSeconds: byteSeconds(s.memoryBytes, s.windowMs),
      rxBytes: s.rxBytes,
      txBytes: s.txBytes,
    }));
    let accepted = 0;
    // Postgres takes at most 65,535 parameters a statement: 13 columns × 1,000 rows stays under.
    for (let i = 0; i < podRows.length; i += 1_000) {
      const done = await tx
        .insert(podMetrics)
        .values(podRows.slice(i, i + 1_000))
        .onConflictDoNothing()
        .returning({ podId: podMetrics.podId });
      accepted += done.length;
    }
    if (nodeRows.length > 0) {
      const done = await tx
        .insert(nodeMetrics)
        .values(nodeRows)
        .onConflictDoNothing()
        .returning({ nodeId: nodeMetrics.nodeId });
      accepted += done.length;
    }
    return { accepted };
  });
}
