import { METRIC_TIERS, nodeMetrics, podMetrics, pods, withTenant } from "@berth/db";
import { type MetricsBatch, type MetricsReply, metricsReplySchema } from "@berth/protocol";
import { and, eq, inArray } from "drizzle-orm";
import { z } from "zod";
import type { Deps, NodeCaller } from "../deps";

export const metricsReply = z.strictObject(metricsReplySchema.shape);

/** Working set × window, in whole byte-seconds (the unit measured memory usage is billed from). */
export function byteSeconds(memoryBytes: number, windowMs: number): bigint {
  return (BigInt(memoryBytes) * BigInt(windowMs)) / 1000n;
}

/** How far ahead of the control plane's clock a sample may be (clocks of nodes drift a little). */
const MAX_CLOCK_SKEW_MS = 60_000;

/**
 * Stores a node's batch of samples, raw tier, in one transaction. Only samples of pods bound to
 * this node are kept (an agent speaks for its own pods alone), and only samples the raw tier would
 * still keep, taken no later than now (with a little skew): nothing is stored that retention would
 * never remove. A sample already stored (same subject, same instant: an agent sending a batch
 * again) is ignored.
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
