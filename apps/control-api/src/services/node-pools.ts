import {
  ConflictError,
  INSTANCE_TYPE_NAMES,
  INSTANCE_TYPES,
  type InstanceType,
  idOf,
  NotFoundError,
  newId,
  QuotaExceededError,
  ValidationError,
} from "@berth/core";
import { isOperational, nodePools, PROVIDERS, recordEvent, type Tx, withTenant } from "@berth/db";
import { isReservedLabelKey, labelValue } from "@berth/protocol";
import { and, eq, ne } from "drizzle-orm";
import { z } from "zod";
import type { Deps, UserCaller } from "../deps";
import { clusterId, loadCluster } from "./clusters";
import { kick } from "./kick";
import { DNS_LABEL } from "./manifest";
import { poolView } from "./node-pool-view";
import { taintSchema } from "./nodes";

export const MAX_POOLS_PER_CLUSTER = 10;
export const MAX_POOL_SIZE = 100;

const labelMap = z
  .record(z.string().min(1).max(63), z.string().max(63))
  .refine((m) => Object.keys(m).length <= 32, "at most 32 labels")
  .superRefine((m, ctx) => {
    for (const key of Object.keys(m))
      if (isReservedLabelKey(key))
        ctx.addIssue({
          code: "custom",
          path: [key],
          message: `label ${JSON.stringify(key)} is set by the platform (a pool's zone is its \`zone\`)`,
        });
  });
const taints = z.array(taintSchema).max(16);
const size = z.number().int().min(0).max(MAX_POOL_SIZE);

/**
 * The node autoscaler's hold on a pool (EKS's scalingConfig, AKS's enableAutoScaling with its
 * min and max counts): while enabled it sets `desiredSize` within `minSize..maxSize`, which are the
 * pool's own bounds (given here or at the top level, not differently in both).
 */
const autoscalingInput = z
  .object({
    enabled: z.boolean().optional(),
    minSize: size.optional(),
    maxSize: size.optional(),
    /** With the cluster's `priority` expander, higher goes first. */
    priority: z.number().int().min(-1000).max(1000).optional(),
  })
  .strict();
type AutoscalingInput = z.infer<typeof autoscalingInput>;

/** A bound given at the top level and in `autoscaling`: one value, or a clear error. */
function bound(
  name: "minSize" | "maxSize",
  top: number | undefined,
  inner: number | undefined,
): number | undefined {
  if (top !== undefined && inner !== undefined && top !== inner)
    throw new ValidationError(`${name} is given twice, differently`, [
      { path: `autoscaling.${name}`, message: `differs from the top-level ${name} (${top})` },
    ]);
  return inner ?? top;
}

function checkAutoscaling(enabled: boolean, provider: string): void {
  if (enabled && provider === "byo")
    throw new ValidationError(
      "a byo pool's machines are yours: Berth cannot add or remove them, so it cannot autoscale the pool (use an ec2 pool)",
      [{ path: "autoscaling.enabled", message: "not for byo pools" }],
    );
}

const clamp = (n: number, min: number, max: number) => Math.min(Math.max(n, min), max);

export const createNodePoolInput = z
  .object({
    clusterId,
    name: z.string().min(1).max(40).regex(DNS_LABEL, "must be a DNS label"),
    provider: z.enum(PROVIDERS),
    instanceType: z.enum(INSTANCE_TYPE_NAMES as [string, ...string[]]).default("small"),
    minSize: size.optional(),
    maxSize: size.optional(),
    /** Required unless autoscaling is enabled (then it starts at minSize). */
    desiredSize: size.optional(),
    autoscaling: autoscalingInput.optional(),
    labels: labelMap.optional(),
    taints: taints.optional(),
    /** `topology.kubernetes.io/zone` of the pool's nodes (byo only; DEFAULT_ZONE when absent). */
    zone: labelValue.min(1).optional(),
  })
  .strict();

function checkSizes(s: { minSize: number; maxSize: number; desiredSize: number }, provider: string): void {
  if (s.minSize > s.maxSize) throw new ValidationError("minSize must not exceed maxSize");
  if (s.desiredSize < s.minSize || s.desiredSize > s.maxSize)
    throw new ValidationError(`desiredSize must be within ${s.minSize}..${s.maxSize}`);
  if (provider === "byo" && s.desiredSize > 0)
    throw new ValidationError(
      "a byo pool launches nothing: its nodes join with join tokens; use desiredSize 0",
    );
}

export async function loadPool(tx: Tx, cluster: string, poolId: string) {
  const [pool] = await tx
    .select()
    .from(nodePools)
    .where(and(eq(nodePools.id, poolId), eq(nodePools.clusterId, cluster), ne(nodePools.status, "deleted")));
  if (!pool) throw new NotFoundError("node pool", poolId);
  return pool;
}

export async function createNodePool(
  deps: Deps,
  caller: UserCaller,
  input: z.infer<typeof createNodePoolInput>,
) {
  const enabled = input.autoscaling?.enabled ?? false;
  checkAutoscaling(enabled, input.provider);
  const minSize = bound("minSize", input.minSize, input.autoscaling?.minSize) ?? 0;
  const maxSize = bound("maxSize", input.maxSize, input.autoscaling?.maxSize) ?? 10;
  if (input.desiredSize === undefined && !enabled)
    throw new ValidationError("desiredSize is required unless autoscaling is enabled", [
      { path: "desiredSize", message: "required" },
    ]);
  const sizes = { minSize, maxSize, desiredSize: input.desiredSize ?? minSize };
  checkSizes(sizes, input.provider);
  if (input.provider === "local-vm" && INSTANCE_TYPES[input.instanceType as InstanceType].extended)
    throw new ValidationError(
      `instanceType: a local VM has no ${Object.keys(INSTANCE_TYPES[input.instanceType as InstanceType].extended ?? {}).join(", ")} to offer`,
      [{ path: "instanceType", message: "not available for local-vm pools" }],
    );
  if (input.zone !== undefined && input.provider !== "byo")
    throw new ValidationError(
      `zone: an ${input.provider} pool's nodes are in the availability zone their instances get`,
      [{ path: "zone", message: "only a byo pool names its zone" }],
    );
  const view = await withTenant(deps.db, caller.tenantId, async (tx) => {
    const cluster = await loadCluster(tx, input.clusterId);
    if (!isOperational(cluster.status))
      throw new ConflictError(`cluster ${cluster.id} is ${cluster.status}`, "CLUSTER_NOT_ACTIVE");
    const existing = await tx
      .select({ name: nodePools.name })
      .from(nodePools)
      .where(and(eq(nodePools.clusterId, cluster.id), ne(nodePools.status, "deleted")));
    if (existing.some((p) => p.name === input.name))
      throw new ConflictError(`a node pool named ${JSON.stringify(input.name)} exists`);
    if (existing.length >= MAX_POOLS_PER_CLUSTER)
      throw new QuotaExceededError(`a cluster may have at most ${MAX_POOLS_PER_CLUSTER} node pools`);
    const [pool] = await tx
      .insert(nodePools)
      .values({
        id: newId("nodePool"),
        tenantId: caller.tenantId,
        clusterId: cluster.id,
        name: input.name,
        provider: input.provider,
        instanceType: input.instanceType,
        ...sizes,
        autoscalingEnabled: enabled,
        autoscalingPriority: input.autoscaling?.priority ?? 0,
        labels: input.labels ?? {},
        taints: input.taints ?? [],
        zone: input.zone ?? null,
      })
      .returning();
    if (!pool) throw new Error("insert returned nothing");
    await recordEvent(tx, {
      tenantId: caller.tenantId,
      clusterId: cluster.id,
      objectKind: "NodePool",
      objectName: pool.name,
      reason: "Created",
      message: `${input.provider} pool of ${sizes.desiredSize} ${input.instanceType} machine(s)${enabled ? `, autoscaled within ${minSize}..${maxSize}` : ""}`,
    });
    return poolView(tx, pool);
  });
  await kick(deps, "machines.reconcile", { tenantId: caller.tenantId, clusterId: input.clusterId });
  return view;
}

export const nodePoolRefInput = z.object({ clusterId, poolId: idOf("nodePool") }).strict();
export const listNodePoolsInput = z.object({ clusterId }).strict();

export async function listNodePools(
  deps: Deps,
  caller: UserCaller,
  input: z.infer<typeof listNodePoolsInput>,
) {
  return withTenant(deps.db, caller.tenantId, async (tx) => {
    await loadCluster(tx, input.clusterId);
    const rows = await tx
      .select()
      .from(nodePools)
      .where(and(eq(nodePools.clusterId, input.clusterId), ne(nodePools.status, "deleted")));
    const items = [];
    for (const p of rows) items.push(await poolView(tx, p));
    return { items };
  });
}

export async function getNodePool(deps: Deps, caller: UserCaller, input: z.infer<typeof nodePoolRefInput>) {
  return withTenant(deps.db, caller.tenantId, async (tx) => {
    await loadCluster(tx, input.clusterId);
    return poolView(tx, await loadPool(tx, input.clusterId, input.poolId));
  });
}

export const updateNodePoolInput = z
  .object({
    clusterId,
    poolId: idOf("nodePool"),
    minSize: size.optional(),
    maxSize: size.optional(),
    desiredSize: size.optional(),
    autoscaling: autoscalingInput.optional(),
  })
  .strict();

/** The pool's sizes after an update: an autoscaled pool's desired size is kept within its bounds. */
function nextSizes(
  pool: typeof nodePools.$inferSelect,
  input: { minSize?: number | undefined; maxSize?: number | undefined; desiredSize?: number | undefined },
  autoscaling: AutoscalingInput | undefined,
) {
  const enabled = autoscaling?.enabled ?? pool.autoscalingEnabled;
  checkAutoscaling(enabled, pool.provider);
  if (enabled && input.desiredSize !== undefined)
    throw new ConflictError(
      `node pool ${pool.name} is autoscaled: its size follows its pods' needs; disable autoscaling to set desiredSize`,
    );
  const minSize = bound("minSize", input.minSize, autoscaling?.minSize) ?? pool.minSize;
  const maxSize = bound("maxSize", input.maxSize, autoscaling?.maxSize) ?? pool.maxSize;
  if (minSize > maxSize) throw new ValidationError("minSize must not exceed maxSize");
  const desiredSize = enabled
    ? clamp(pool.desiredSize, minSize, maxSize)
    : (input.desiredSize ?? pool.desiredSize);
  return {
    minSize,
    maxSize,
    desiredSize,
    autoscalingEnabled: enabled,
    autoscalingPriority: autoscaling?.priority ?? pool.autoscalingPriority,
  };
}

/** Scales a pool; the provisioner launches or drains and terminates machines to match. */
export async function updateNodePool(
  deps: Deps,
  caller: UserCaller,
  input: z.infer<typeof updateNodePoolInput>,
) {
  const view = await withTenant(deps.db, caller.tenantId, async (tx) => {
    await loadCluster(tx, input.clusterId);
    const pool = await loadPool(tx, input.clusterId, input.poolId);
    if (pool.status !== "active") throw new ConflictError(`node pool ${pool.name} is ${pool.status}`);
    const next = nextSizes(pool, input, input.autoscaling);
    checkSizes(next, pool.provider);
    const [row] = await tx
      .update(nodePools)
      .set({ ...next, updatedAt: deps.now() })
      .where(eq(nodePools.id, pool.id))
      .returning();
    if (next.desiredSize !== pool.desiredSize)
      await recordEvent(tx, {
        tenantId: caller.tenantId,
        clusterId: pool.clusterId,
        objectKind: "NodePool",
        objectName: pool.name,
        reason: "Scaled",
        message: `desired size ${pool.desiredSize} → ${next.desiredSize}`,
      });
    if (next.autoscalingEnabled !== pool.autoscalingEnabled)
      await recordEvent(tx, {
        tenantId: caller.tenantId,
        clusterId: pool.clusterId,
        objectKind: "NodePool",
        objectName: pool.name,
        reason: next.autoscalingEnabled ? "AutoscalingEnabled" : "AutoscalingDisabled",
        message: next.autoscalingEnabled
          ? `the node autoscaler keeps it within ${next.minSize}..${next.maxSize}`
          : `its size stays ${next.desiredSize} until changed`,
      });
    return poolView(tx, row ?? pool);
  });
  await kick(deps, "machines.reconcile", { tenantId: caller.tenantId, clusterId: input.clusterId });
  return view;
}

/** Deletes a pool: its nodes are drained (pods move elsewhere), then its machines terminated. */
export async function deleteNodePool(
  deps: Deps,
  caller: UserCaller,
  input: z.infer<typeof nodePoolRefInput>,
) {
  const view = await withTenant(deps.db, caller.tenantId, async (tx) => {
    await loadCluster(tx, input.clusterId);
    const pool = await loadPool(tx, input.clusterId, input.poolId);
    const [row] = await tx
      .update(nodePools)
      .set({ status: "deleting", updatedAt: deps.now() })
      .where(eq(nodePools.id, pool.id))
      .returning();
    await recordEvent(tx, {
      tenantId: caller.tenantId,
      clusterId: pool.clusterId,
      objectKind: "NodePool",
      objectName: pool.name,
      reason: "Deleting",
      message: "draining and terminating its machines",
    });
    return poolView(tx, row ?? pool);
  });
  await kick(deps, "machines.reconcile", { tenantId: caller.tenantId, clusterId: input.clusterId });
  return view;
}
