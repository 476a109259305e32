import { createHash } from "node:crypto";
import { UnauthenticatedError } from "@berth/core";
import { clusters, nodes, pods, type Tx, withTenant } from "@berth/db";
import {
  type AssignmentInput,
  type ContainerTemplateInput,
  WATCH_MAX_WAIT_MS,
  type WatchReply,
  type watchRequestSchema,
} from "@berth/protocol";
import { and, asc, eq } from "drizzle-orm";
import type { z } from "zod";
import type { Deps, NodeCaller } from "../deps";
import type { RequestMeta } from "../operation";

type NodeRow = typeof nodes.$inferSelect;
type ClusterRow = typeof clusters.$inferSelect;
type PodRow = typeof pods.$inferSelect;

// The stored template must stay what the wire carries: this fails to compile if they drift apart.
const _storedTemplateIsWireTemplate = (t: PodRow["template"]["containers"][number]): ContainerTemplateInput =>
  t;
void _storedTemplateIsWireTemplate;

/** Whether a node is told to leave: it is being removed, or its cluster is going. */
export function mustLeave(node: Pick<NodeRow, "status">, cluster: Pick<ClusterRow, "status">): boolean {
  return node.status === "leaving" || cluster.status === "deleting" || cluster.status === "deleted";
}

/** What should run on a node: every pod bound to it, those being removed (or failed) to stop. */
export function assignmentOf(p: PodRow, leave: boolean): AssignmentInput {
  return {
    podId: p.id,
    name: p.name,
    namespace: p.namespace,
    action: leave || p.deletionRequestedAt || p.phase === "Failed" ? "stop" : "run",
    hostPorts: p.hostPorts,
    containers: p.template.containers,
  };
}

/** A digest of the assignments: equal digests, nothing for the agent to do. */
export function assignmentsVersion(leave: boolean, list: readonly AssignmentInput[]): string {
  return createHash("sha256").update(JSON.stringify({ leave, list })).digest("base64url").slice(0, 32);
}

/** The node's current assignments, read in the caller's tenant transaction. */
export async function currentAssignments(tx: Tx, node: NodeRow, cluster: ClusterRow): Promise<WatchReply> {
  const leave = mustLeave(node, cluster);
  const rows = await tx.select().from(pods).where(eq(pods.nodeId, node.id)).orderBy(asc(pods.id));
  const list = rows.map((p) => assignmentOf(p, leave));
  return { version: assignmentsVersion(leave, list), leave, pods: list as WatchReply["pods"] };
}

async function readAssignments(deps: Deps, caller: NodeCaller): Promise<WatchReply> {
  return withTenant(deps.db, caller.tenantId, async (tx) => {
    const [row] = await tx
      .select({ node: nodes, cluster: clusters })
      .from(nodes)
      .innerJoin(clusters, eq(clusters.id, nodes.clusterId))
      .where(and(eq(nodes.id, caller.nodeId), eq(nodes.clusterId, caller.clusterId)));
    if (!row || row.node.status === "left")
      throw new UnauthenticatedError("this node is not part of the cluster");
    return currentAssignments(tx, row.node, row.cluster);
  });
}

/**
 * The long poll that pushes assignments: answers at once when they differ from the version the
 * agent holds, otherwise as soon as a committed change concerns this node (the hub hears it from
 * Postgres), otherwise after `waitMs` with what is current. The subscription is taken before the
 * first read, so a change committed in between is never missed.
 */
export async function watchNode(
  deps: Deps,
  caller: NodeCaller,
  input: z.infer<typeof watchRequestSchema>,
  request: RequestMeta,
): Promise<WatchReply> {
  const deadline = Date.now() + Math.min(input.waitMs ?? WATCH_MAX_WAIT_MS, WATCH_MAX_WAIT_MS);
  const subscription = deps.assignments.subscribe(caller.nodeId);
  try {
    for (;;) {
      const current = await readAssignments(deps, caller);
      if (current.version !== input.version) return current;
      const changed = await subscription.next(deadline - Date.now(), request.signal);
      if (!changed) return current;
    }
  } finally {
    subscription.close();
  }
}
