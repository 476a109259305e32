import type { Condition } from "@berth/db";
import { deployments, objects, podMetrics, pods, recordEvent, scaleDeployment, type Tx } from "@berth/db";
import {
  autoscalePass,
  emptyHistory,
  type HorizontalPodAutoscalerSpec,
  type HpaHistory,
  type HpaPod,
} from "@berth/kube";
import { and, eq, gt, inArray, isNull, sql } from "drizzle-orm";
import type { Deps } from "../deps";
import { setCondition } from "./conditions";

type ObjectRow = typeof objects.$inferSelect;

/** The HPA's status as stored: Kubernetes' fields, and the controller's memory beside them. */
interface StoredStatus {
  observedGeneration?: number;
  currentReplicas?: number;
  desiredReplicas?: number;
  currentMetrics?: unknown[];
  lastScaleTime?: string;
  conditions?: Condition[];
  history?: HpaHistory;
}

/** Each pod's usage over the last window: average millicores, latest working set. */
async function usageOf(tx: Tx, podIds: string[], since: Date) {
  if (podIds.length === 0) return new Map<string, { cpu: number; memory: number }>();
  const rows = await tx
    .select({
      podId: podMetrics.podId,
      cpuNanos: sql<string>`sum(${podMetrics.cpuNanos})::text`,
      windowMs: sql<number>`sum(${podMetrics.windowMs})::int`,
      memory: sql<number>`(array_agg(${podMetrics.memoryBytes} order by ${podMetrics.ts} desc))[1]`,
    })
    .from(podMetrics)
    .where(and(eq(podMetrics.resolution, 0), inArray(podMetrics.podId, podIds), gt(podMetrics.ts, since)))
    .groupBy(podMetrics.podId);
  return new Map(
    rows.map((r) => [
      r.podId,
      // nanoseconds per millisecond of wall time / 1000 = millicores
      { cpu: Math.round(Number(BigInt(r.cpuNanos)) / r.windowMs / 1000), memory: Number(r.memory) },
    ]),
  );
}

/**
 * One pass over one HorizontalPodAutoscaler in the tenant's transaction: reads its Deployment and
 * the Deployment's pods with their latest usage, lets the pure autoscaler decide
 * (`autoscalePass`), scales through the same path as a user's scale, and writes the status,
 * conditions and events. Returns whether the Deployment was scaled (its cluster needs a reconcile).
 */
export async function reconcileAutoscaler(deps: Deps, tx: Tx, hpaId: string): Promise<boolean> {
  const [hpa] = await tx
    .select()
    .from(objects)
    .where(and(eq(objects.id, hpaId), isNull(objects.deletionTimestamp)))
    .for("update");
  if (!hpa) return false;
  const now = deps.now();
  const spec = hpa.spec as unknown as HorizontalPodAutoscalerSpec;
  const status = hpa.status as StoredStatus;
  const [target] = await tx
    .select()
    .from(deployments)
    .where(
      and(
        eq(deployments.clusterId, hpa.clusterId),
        eq(deployments.namespace, hpa.namespace),
        eq(deployments.name, spec.scaleTargetRef.name),
        isNull(deployments.deletedAt),
      ),
    )
    .for("update");
  const podRows = target
    ? await tx
        .select()
        .from(pods)
        .where(and(eq(pods.ownerId, target.id), isNull(pods.deletionRequestedAt)))
    : [];
  const usage = await usageOf(
    tx,
    podRows.map((p) => p.id),
    new Date(now.getTime() - deps.autoscaling.metricsWindowMs),
  );
  const hpaPods: HpaPod[] = podRows.map((p) => ({
    name: p.id,
    phase: p.phase,
    ready: p.ready,
    deleting: p.deletionRequestedAt !== null,
    requests: { cpu: p.cpuMillis, memory: p.memoryBytes },
    usage: usage.get(p.id),
  }));
  const result = autoscalePass({
    spec,
    now: now.getTime(),
    targetReplicas: target ? target.replicas : null,
    pods: hpaPods,
    history: status.history ?? emptyHistory(),
    tolerance: deps.autoscaling.tolerance,
  });

  let scaled = false;
  if (target && result.scaleTo !== null) {
    await scaleDeployment(tx, target, result.scaleTo, { source: "horizontal-pod-autoscaler", now });
    scaled = true;
  }
  let conditions = status.conditions ?? [];
  for (const c of result.conditions) conditions = setCondition(conditions, c, now);
  const next: StoredStatus = {
    observedGeneration: hpa.generation,
    currentReplicas: target ? target.statusReplicas : 0,
    desiredReplicas: result.desiredReplicas,
    currentMetrics: result.currentMetrics,
    ...(scaled
      ? { lastScaleTime: now.toISOString() }
      : status.lastScaleTime
        ? { lastScaleTime: status.lastScaleTime }
        : {}),
    conditions,
    history: result.history,
  };
  if (JSON.stringify(next) !== JSON.stringify(status))
    await tx
      .update(objects)
      .set({ status: next as Record<string, unknown>, resourceVersion: sql`nextval('resource_versions')` })
      .where(eq(objects.id, hpa.id));
  for (const e of result.events) await hpaEvent(tx, hpa, e);
  return scaled;
}

function hpaEvent(
  tx: Tx,
  hpa: ObjectRow,
  e: { type: "Normal" | "Warning"; reason: string; message: string },
) {
  return recordEvent(tx, {
    tenantId: hpa.tenantId,
    clusterId: hpa.clusterId,
    objectKind: "HorizontalPodAutoscaler",
    objectName: hpa.name,
    namespace: hpa.namespace,
    objectUid: hpa.id,
    source: "horizontal-pod-autoscaler",
    type: e.type,
    reason: e.reason,
    message: e.message,
  });
}
