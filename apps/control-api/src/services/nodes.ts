import { idOf, NotFoundError } from "@berth/core";
import { NODE_STATUSES, nodes, pods, recordEvent, withTenant } from "@berth/db";
import { and, count, desc, eq, isNull, lt, ne, sql } from "drizzle-orm";
import { z } from "zod";
import type { Deps, UserCaller } from "../deps";
import { clusterId, loadCluster } from "./clusters";
import { kick } from "./kick";
import { page, pageInput } from "./paging";
import { stringMap, timestamp } from "./replies";

/** A taint (Kubernetes' shape): written on node pools, carried by their nodes. */
export const taintSchema = z.strictObject({
  key: z.string().min(1).max(253),
  value: z.string().max(63).optional(),
  effect: z.enum(["NoSchedule", "PreferNoSchedule", "NoExecute"]),
});

export const nodeReply = z.strictObject({
  id: z.string(),
  name: z.string(),
  status: z.enum(NODE_STATUSES),
  statusReason: z.string().nullable(),
  unschedulable: z.boolean(),
  drainRequestedAt: timestamp
    .nullable()
    .describe("Set while the node drains: its pods leave as their PodDisruptionBudgets allow"),
  capacity: z.strictObject({
    cpuMillis: z.number().int(),
    memoryBytes: z.number().int(),
    pods: z.number().int(),
    extended: z.record(z.string(), z.number().int()).describe("Extended resources (`berth.dev/gpu`: count)"),
  }),
  portRange: z.strictObject({ min: z.number().int(), max: z.number().int() }),
  reservedHostPorts: z
    .array(z.number().int())
    .describe("Ports of the range held on the node by something outside Berth: never handed out"),
  address: z.string(),
  labels: stringMap,
  taints: z.array(taintSchema),
  agentVersion: z.string().nullable(),
  joinedAt: timestamp,
  lastHeartbeatAt: timestamp,
});

/** What cordon, uncordon and drain answer: the node's schedulability now. */
export const nodeSchedulingReply = z.strictObject({
  id: z.string(),
  name: z.string(),
  unschedulable: z.boolean(),
  drainRequestedAt: timestamp.nullable(),
  podsToMove: z
    .number()
    .int()
    .optional()
    .describe("Drain only: how many pods will be evicted and replaced elsewhere"),
});

function nodeView(n: typeof nodes.$inferSelect): z.output<typeof nodeReply> {
  return {
    id: n.id,
    name: n.name,
    status: n.status,
    statusReason: n.statusReason,
    unschedulable: n.unschedulable,
    drainRequestedAt: n.drainRequestedAt?.toISOString() ?? null,
    capacity: {
      cpuMillis: n.cpuMillis,
      memoryBytes: n.memoryBytes,
      pods: n.maxPods,
      extended: n.extendedResources,
    },
    portRange: { min: n.portMin, max: n.portMax },
    reservedHostPorts: n.reservedHostPorts,
    address: n.address,
    labels: n.labels,
    taints: n.taints,
    agentVersion: n.agentVersion,
    joinedAt: n.joinedAt.toISOString(),
    lastHeartbeatAt: n.lastHeartbeatAt.toISOString(),
  };
}

export const listNodesInput = pageInput.extend({ clusterId }).strict();

export async function listNodes(deps: Deps, caller: UserCaller, input: z.infer<typeof listNodesInput>) {
  const rows = await withTenant(deps.db, caller.tenantId, async (tx) => {
    await loadCluster(tx, input.clusterId);
    return tx
      .select()
      .from(nodes)
      .where(
        and(
          eq(nodes.clusterId, input.clusterId),
          ne(nodes.status, "left"),
          input.cursor ? lt(nodes.id, input.cursor) : undefined,
        ),
      )
      .orderBy(desc(nodes.id))
      .limit(input.limit + 1);
  });
  return page(rows.map(nodeView), input.limit);
}

export const nodeRefInput = z.object({ clusterId, nodeId: idOf("node") }).strict();

async function setSchedulable(
  deps: Deps,
  caller: UserCaller,
  input: z.infer<typeof nodeRefInput>,
  unschedulable: boolean,
  drain: boolean,
): Promise<z.output<typeof nodeSchedulingReply>> {
  const result = await withTenant(deps.db, caller.tenantId, async (tx) => {
    await loadCluster(tx, input.clusterId);
    const [node] = await tx
      .update(nodes)
      .set({
        unschedulable,
        // Draining stays requested until uncordoned; cordoning alone leaves a drain in progress.
        ...(drain
          ? {
              drainRequestedAt: sql`coalesce(${nodes.drainRequestedAt}, ${deps.now().toISOString()}::timestamptz)`,
            }
          : unschedulable
            ? {}
            : { drainRequestedAt: null }),
      })
      .where(and(eq(nodes.id, input.nodeId), eq(nodes.clusterId, input.clusterId), ne(nodes.status, "left")))
      .returning();
    if (!node) throw new NotFoundError("node", input.nodeId);
    const [held] = drain
      ? await tx
          .select({ n: count() })
          .from(pods)
          .where(and(eq(pods.nodeId, node.id), isNull(pods.deletionRequestedAt)))
      : [];
    const podsToMove = held?.n ?? 0;
    await recordEvent(tx, {
      tenantId: node.tenantId,
      clusterId: node.clusterId,
      objectKind: "Node",
      objectName: node.name,
      reason: drain ? "Draining" : unschedulable ? "Cordoned" : "Uncordoned",
      message: drain
        ? `cordoned; ${podsToMove} pod(s) will be evicted and replaced on other nodes as their disruption budgets allow`
        : unschedulable
          ? "no new pods will be placed here"
          : "schedulable again",
    });
    return {
      id: node.id,
      name: node.name,
      unschedulable,
      drainRequestedAt: node.drainRequestedAt?.toISOString() ?? null,
      ...(drain ? { podsToMove } : {}),
    };
  });
  await kick(deps, "cluster.reconcile", { tenantId: caller.tenantId, clusterId: input.clusterId });
  return result;
}

/**
 * Cordons a node and drains it, as `kubectl drain` does through the Eviction API: the cluster's
 * control loop evicts its pods as their PodDisruptionBudgets allow (a budget at zero holds a pod
 * until a replacement elsewhere is ready), and their controllers replace them on other nodes.
 */
export const drainNode = (deps: Deps, caller: UserCaller, input: z.infer<typeof nodeRefInput>) =>
  setSchedulable(deps, caller, input, true, true);
export const cordonNode = (deps: Deps, caller: UserCaller, input: z.infer<typeof nodeRefInput>) =>
  setSchedulable(deps, caller, input, true, false);
export const uncordonNode = (deps: Deps, caller: UserCaller, input: z.infer<typeof nodeRefInput>) =>
  setSchedulable(deps, caller, input, false, false);
