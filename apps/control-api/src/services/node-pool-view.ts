import { INSTANCE_TYPE_NAMES } from "@berth/core";
import {
  LAUNCH_FAILED,
  launchFailureCondition,
  machines,
  type nodePools,
  PROVIDERS,
  type Tx,
} from "@berth/db";
import { DEFAULT_ZONE } from "@berth/protocol";
import { and, desc, eq, like, ne } from "drizzle-orm";
import { z } from "zod";
import { taintSchema } from "./nodes";
import { condition, listOf, stringMap, timestamp } from "./replies";

/** A node pool as the API answers it: its sizes, autoscaling, and its machines by status. */
export const nodePoolReply = z.strictObject({
  id: z.string(),
  clusterId: z.string(),
  name: z.string(),
  provider: z.enum(PROVIDERS),
  instanceType: z.enum(INSTANCE_TYPE_NAMES as [string, ...string[]]),
  minSize: z.number().int(),
  maxSize: z.number().int(),
  desiredSize: z.number().int(),
  autoscaling: z.strictObject({
    enabled: z.boolean(),
    minSize: z.number().int(),
    maxSize: z.number().int(),
    priority: z.number().int(),
  }),
  labels: stringMap,
  taints: z.array(taintSchema),
  zone: z
    .string()
    .nullable()
    .describe("The zone its nodes get: set for byo pools, null for ec2 (each instance's own)"),
  status: z.enum(["active", "deleting", "deleted"]),
  machines: z
    .strictObject({
      pending: z.number().int(),
      launching: z.number().int(),
      running: z.number().int(),
      terminating: z.number().int(),
    })
    .describe("Its machines not yet terminated, by status"),
  conditions: z
    .array(condition)
    .describe("`LaunchFailure` while a launch the provider refused for good holds the pool back"),
  createdAt: timestamp,
});
export type NodePoolView = z.output<typeof nodePoolReply>;
/** Every pool of the cluster, unpaged (a cluster has at most ten). */
export const nodePoolListReply = listOf(nodePoolReply);

export async function poolView(tx: Tx, pool: typeof nodePools.$inferSelect): Promise<NodePoolView> {
  const ms = await tx
    .select()
    .from(machines)
    .where(and(eq(machines.poolId, pool.id), ne(machines.status, "terminated")));
  const count = (s: string) => ms.filter((m) => m.status === s).length;
  const [failure] = await tx
    .select()
    .from(machines)
    .where(
      and(
        eq(machines.poolId, pool.id),
        eq(machines.status, "terminated"),
        like(machines.statusReason, `${LAUNCH_FAILED}%`),
      ),
    )
    .orderBy(desc(machines.terminatedAt))
    .limit(1);
  const launchFailure = launchFailureCondition(pool, failure);
  return {
    id: pool.id,
    clusterId: pool.clusterId,
    name: pool.name,
    provider: pool.provider,
    instanceType: pool.instanceType,
    minSize: pool.minSize,
    maxSize: pool.maxSize,
    desiredSize: pool.desiredSize,
    autoscaling: {
      enabled: pool.autoscalingEnabled,
      minSize: pool.minSize,
      maxSize: pool.maxSize,
      priority: pool.autoscalingPriority,
    },
    labels: pool.labels,
    taints: pool.taints,
    zone: pool.provider === "byo" ? (pool.zone ?? DEFAULT_ZONE) : null,
    status: pool.status,
    machines: {
      pending: count("pending"),
      launching: count("launching"),
      running: count("running"),
      terminating: count("terminating"),
    },
    conditions: launchFailure ? [launchFailure] : [],
    createdAt: pool.createdAt.toISOString(),
  };
}
