import { UnauthenticatedError } from "@berth/core";
import { clusters, nodes, recordEvents, withTenant } from "@berth/db";
import {
  HEARTBEAT_INTERVAL_MS,
  type HeartbeatReply,
  heartbeatReplySchema,
  type heartbeatRequestSchema,
} from "@berth/protocol";
import { and, eq } from "drizzle-orm";
import { z } from "zod";
import type { Deps, NodeCaller } from "../deps";
import { agentAnnouncement } from "./agent-bundle";
import { kick } from "./kick";
import { leaseRenewals } from "./lease-renewals";
import { mustLeave } from "./node-assignments";

export const heartbeatReply = z.strictObject(heartbeatReplySchema.shape);

/**
 * Renews the node's lease (in the plain case batched with other nodes', lease-renewals.ts; else in
 * one small transaction), never waiting on pod work, so an agent busy starting containers (or stuck
 * on a slow runtime) still proves it is alive. It also records the
 * agent's version when it changed (an agent that updated itself resumes without joining again),
 * and announces the agent this control plane serves, when its bundle is built (never waiting),
 * and Berth's registry, the one host the node's credential is offered to when it pulls.
 */
export async function heartbeatNode(
  deps: Deps,
  caller: NodeCaller,
  input: z.infer<typeof heartbeatRequestSchema>,
): Promise<HeartbeatReply> {
  // The plain case (a ready node, its agent unchanged) is renewed with other nodes' in one statement.
  const renewed = await leaseRenewals(deps.db, deps.now).renew({
    ...caller,
    agentVersion: input.agentVersion,
  });
  if (renewed) return reply(deps, caller, renewed.leave);
  const now = deps.now();
  // A lease waits for no join, sync or report of the tenant's other nodes: it goes first.
  const result = await withTenant(
    deps.db,
    caller.tenantId,
    async (tx) => {
      const [row] = await tx
        .select({ node: nodes, clusterStatus: clusters.status })
        .from(nodes)
        .innerJoin(clusters, eq(clusters.id, nodes.clusterId))
        .where(and(eq(nodes.id, caller.nodeId), eq(nodes.clusterId, caller.clusterId)))
        .for("update", { of: nodes });
      if (!row || row.node.status === "left")
        throw new UnauthenticatedError("this node is not part of the cluster");
      const { node } = row;
      const back = node.status === "not_ready";
      const version = input.agentVersion;
      const updated = version !== undefined && version !== node.agentVersion;
      await tx
        .update(nodes)
        .set({
          lastHeartbeatAt: now,
          ...(back ? { status: "ready", statusReason: null } : {}),
          ...(updated ? { agentVersion: version } : {}),
        })
        .where(eq(nodes.id, node.id));
      const about = {
        tenantId: node.tenantId,
        clusterId: node.clusterId,
        objectKind: "Node",
        objectName: node.name,
      };
      await recordEvents(tx, [
        ...(updated
          ? [
              {
                ...about,
                reason: "AgentVersionChanged",
                message: `the node agent runs ${version} (was ${node.agentVersion ?? "unknown"})`,
              },
            ]
          : []),
        ...(back ? [{ ...about, reason: "NodeReady", message: "the node is heartbeating again" }] : []),
      ]);
      return { back, leave: mustLeave(node, { status: row.clusterStatus }) };
    },
    { urgent: true },
  );
  if (result.back)
    await kick(deps, "cluster.reconcile", { tenantId: caller.tenantId, clusterId: caller.clusterId });
  return reply(deps, caller, result.leave);
}

function reply(deps: Deps, caller: NodeCaller, leave: boolean): HeartbeatReply {
  const agent = agentAnnouncement(deps);
  return {
    nodeId: caller.nodeId,
    leave,
    heartbeatIntervalMs: HEARTBEAT_INTERVAL_MS,
    ...(agent ? { agent } : {}),
    ...(deps.registryHost ? { registry: { host: deps.registryHost } } : {}),
  };
}
