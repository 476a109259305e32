import { nodeMetrics, podMetrics, pods, withTenant } from "@berth/db";
import type { MetricsBatch, MetricsReply } from "@berth/protocol";
import { and, eq, inArray } from "drizzle-orm";
import type { Deps, NodeCaller } from "../deps";

/** Working set × window, in whole byte-seconds (the unit measured memory usage is billed from). */
export function byteSeconds(memoryBytes: number, windowMs: number): bigint {
  return (BigInt(memoryBytes) * BigInt(windowMs)) / 1000n;
}

/**
 * Stores a node's batch of samples, raw tier, in one transaction. Only samples of pods bound to
 * this node are kept (an agent speaks for its own pods alone); a sample already stored (same
 * subject, same instant: an agent sending a batch again) is ignored.
 */
export async function ingestMetrics(
  deps: Deps,
  caller: NodeCaller,
  batch: MetricsBatch,
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
