import { UnauthenticatedError, ValidationError } from "@berth/core";
import { closeMeters, nodes, pods, recordEvent, releaseNode, type Tx, withTenant } from "@berth/db";
import {
  type AssignmentInput,
  HEARTBEAT_INTERVAL_MS,
  NODE_CREDENTIAL_TTL_SECONDS,
  type PodReport,
  type SyncReply,
  syncReplySchema,
  type syncRequestSchema,
} from "@berth/protocol";
import { and, eq, inArray } from "drizzle-orm";
import { z } from "zod";
import { issueNodeCredential } from "../auth/node-credentials";
import type { Deps, NodeCaller } from "../deps";
import { loadCluster } from "./clusters";
import { kick } from "./kick";
import { assignmentOf, assignmentReply, mustLeave, podsOfNode, referencesOf } from "./node-assignments";
import { podPatch, recordPodEvents } from "./node-pod-status";
import { timestamp } from "./replies";

const NO_REFS = { configMaps: new Map(), secrets: new Map() };

export const syncReply = z.strictObject({
  ...syncReplySchema.shape,
  pods: z.array(assignmentReply),
  credential: z
    .strictObject({ credential: z.string(), expiresAt: timestamp })
    .nullable()
    .describe("a renewed credential, when the one in use nears its end"),
});

type NodeRow = typeof nodes.$inferSelect;
type PodRow = typeof pods.$inferSelect;
type SyncInput = z.infer<typeof syncRequestSchema>;

/**
 * The agent's status report: what its containers are doing and which host ports something else
 * holds. Applied in one transaction; the reply carries the current assignments (the safety net
 * under the pushed ones) and, when due, a renewed credential.
 */
export async function syncNode(deps: Deps, caller: NodeCaller, input: SyncInput): Promise<SyncReply> {
  const now = deps.now();
  assertNoDuplicates(input.pods.map((p) => p.podId));
  let changed = false;
  const result = await withTenant(deps.db, caller.tenantId, async (tx) => {
    const [node] = await tx
      .select()
      .from(nodes)
      .where(and(eq(nodes.id, caller.nodeId), eq(nodes.clusterId, caller.clusterId)))
      // NO KEY UPDATE: placements insert pods referencing this node (a key share) meanwhile.
      .for("no key update");
    if (!node || node.status === "left")
      throw new UnauthenticatedError("this node is not part of the cluster");
    const cluster = await loadCluster(tx, caller.clusterId);
    const event = (reason: string, message: string, type: "Normal" | "Warning" = "Normal") =>
      recordEvent(tx, {
        tenantId: node.tenantId,
        clusterId: node.clusterId,
        objectKind: "Node",
        objectName: node.name,
        type,
        reason,
        message,
      });

    if (input.left) {
      await releaseNode(tx, node.id, now, "the agent left");
      await event("Left", "the node agent stopped its pods and left the cluster");
      changed = true;
      return { node, cluster, leave: true, assignments: [] as AssignmentInput[] };
    }
    const leave = mustLeave(node, cluster);
    const back = node.status === "not_ready";
    const reserved = input.reservedHostPorts ? normalisePorts(input.reservedHostPorts, node) : null;
    const reservedChanged = reserved !== null && !samePorts(reserved, node.reservedHostPorts);
    await tx
      .update(nodes)
      .set({
        lastHeartbeatAt: now,
        ...(back ? { status: "ready", statusReason: null } : {}),
        ...(reservedChanged ? { reservedHostPorts: reserved } : {}),
      })
      .where(eq(nodes.id, node.id));
    if (back) await event("NodeReady", "the node is heartbeating again");
    if (reservedChanged)
      await event(
        "HostPortsReserved",
        reserved.length === 0
          ? "no host port of the node's range is held outside Berth"
          : `${reserved.length} host port(s) of the node's range are held outside Berth and will not be handed out`,
      );
    changed ||= back || reservedChanged;

    const rows = await podsOfNode(tx, { nodeId: node.id });
    // What each pod should do, resolved first: a pod held back for its configuration keeps that reason.
    const refs = await referencesOf(tx, deps.master, cluster, rows);
    const resolved = new Map(
      rows.map((p) => [p.id, assignmentOf(p, leave, node, refs.get(p.namespace) ?? NO_REFS)] as const),
    );
    const byId = new Map(rows.map((p) => [p.id, p]));
    await recordPodEvents(tx, byId, input.events ?? [], node.name);
    const configErrors = new Set([...resolved].filter(([, r]) => r.configError).map(([id]) => id));
    const applied = await applyReports(tx, rows, input.pods, now, configErrors);
    changed ||= applied.changed;
    const assignments: AssignmentInput[] = [];
    for (const p of rows) {
      if (applied.gone.has(p.id)) continue;
      const { assignment, configError } = resolved.get(p.id) as ReturnType<typeof assignmentOf>;
      assignments.push(assignment);
      if (configError && (p.reason !== "CreateContainerConfigError" || p.message !== configError)) {
        await tx
          .update(pods)
          .set({ reason: "CreateContainerConfigError", message: configError })
          .where(eq(pods.id, p.id));
        changed = true;
      }
    }
    for (const podId of applied.unknown)
      assignments.push({ podId, name: podId, namespace: "", action: "stop", hostPorts: [], containers: [] });
    return { node, cluster, leave, assignments };
  });

  if (changed)
    await kick(deps, "cluster.reconcile", { tenantId: caller.tenantId, clusterId: caller.clusterId });
  return {
    nodeId: result.node.id,
    leave: result.leave,
    heartbeatIntervalMs: HEARTBEAT_INTERVAL_MS,
    pods: result.assignments as SyncReply["pods"],
    credential: result.leave ? null : await renewedCredential(deps, caller, result.cluster, now),
  };
}

/** Applies each pod's report to its row: phase, readiness, restarts, statuses, conditions, reason. */
async function applyReports(
  tx: Tx,
  rows: PodRow[],
  reports: readonly PodReport[],
  now: Date,
  configErrors: ReadonlySet<string>,
): Promise<{ changed: boolean; gone: Set<string>; unknown: string[] }> {
  const byId = new Map(rows.map((p) => [p.id, p]));
  const unknown: string[] = [];
  const gone = new Set<string>();
  let changed = false;
  for (const r of reports) {
    const pod = byId.get(r.podId);
    if (!pod) {
      if (r.state !== "gone") unknown.push(r.podId);
      continue;
    }
    if (removing(pod)) {
      if (r.state === "gone") gone.add(pod.id);
      continue;
    }
    const patch = await podPatch(tx, pod, r, now, { keepReason: configErrors.has(pod.id) });
    if (Object.keys(patch).length > 0) {
      await tx.update(pods).set(patch).where(eq(pods.id, pod.id));
      changed = true;
    }
  }
  // Pods being removed that the agent no longer has at all are gone too.
  const reported = new Set(reports.map((p) => p.podId));
  for (const p of rows) if (removing(p) && !reported.has(p.id)) gone.add(p.id);
  if (gone.size > 0) {
    for (const id of gone) await closeMeters(tx, id, now);
    await tx.delete(pods).where(inArray(pods.id, [...gone]));
    changed = true;
  }
  return { changed, gone, unknown };
}

/**
 * Pods whose row goes once their node has stopped them: those being deleted, and evicted ones
 * (their controller replaces them). Pods that finished by themselves (Succeeded, or Failed by their
 * restart policy) stay, with their exited containers on the node, until they are deleted.
 */
function removing(p: PodRow): boolean {
  return p.deletionRequestedAt !== null || (p.phase === "Failed" && p.reason === "Evicted");
}

/** A new credential when less than half of its life is left, or when the cluster's key rotated. */
async function renewedCredential(
  deps: Deps,
  caller: NodeCaller,
  cluster: Awaited<ReturnType<typeof loadCluster>>,
  now: Date,
): Promise<{ credential: string; expiresAt: string } | null> {
  const halfLife = caller.expiresAt - now.getTime() < (NODE_CREDENTIAL_TTL_SECONDS * 1000) / 2;
  if (!halfLife && caller.kid === cluster.signingKid) return null;
  const issued = await issueNodeCredential(deps.master, deps.publicUrl, cluster, caller, now);
  return { credential: issued.credential, expiresAt: issued.expiresAt.toISOString() };
}

/** The reported ports that are in the node's range, once each, ascending. */
function normalisePorts(ports: readonly number[], node: NodeRow): number[] {
  return [...new Set(ports.filter((p) => p >= node.portMin && p <= node.portMax))].sort((a, b) => a - b);
}

function samePorts(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((p, i) => p === b[i]);
}

function assertNoDuplicates(ids: string[]): void {
  if (new Set(ids).size !== ids.length) throw new ValidationError("a pod is reported twice");
}
