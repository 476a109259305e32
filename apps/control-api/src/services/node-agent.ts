import { ConflictError, newId, sha256Hex, UnauthenticatedError, ValidationError } from "@berth/core";
import {
  closeMeters,
  isOperational,
  joinTokens,
  machines,
  nodePools,
  nodes,
  openMeter,
  pods,
  recordEvent,
  releaseNode,
  withSystem,
  withTenant,
} from "@berth/db";
import { and, eq, gt, inArray, ne, sql } from "drizzle-orm";
import { z } from "zod";
import { issueNodeCredential, NODE_CREDENTIAL_TTL_SECONDS } from "../auth/node-credentials";
import type { Deps, NodeCaller } from "../deps";
import { loadCluster } from "./clusters";
import { kick } from "./kick";
import { DNS_LABEL } from "./manifest";

/** How often agents sync; the lease a node holds is a few of these (see the provisioner's sweep). */
export const HEARTBEAT_INTERVAL_MS = 2_000;

const labelMap = z
  .record(z.string().min(1).max(63), z.string().max(63))
  .refine((m) => Object.keys(m).length <= 64);

export const joinInput = z
  .object({
    joinToken: z.string().min(10).max(200),
    name: z.string().min(1).max(63).regex(DNS_LABEL, "must be a DNS label"),
    capacity: z
      .object({
        cpuMillis: z.number().int().min(100).max(1_024_000),
        memoryBytes: z
          .number()
          .int()
          .min(64 * 1024 * 1024)
          .max(2 ** 44),
        pods: z.number().int().min(1).max(1000),
      })
      .strict(),
    portRange: z
      .object({ min: z.number().int().min(1024).max(65535), max: z.number().int().min(1024).max(65535) })
      .strict()
      .refine((r) => r.max >= r.min, "max must be at least min"),
    address: z.string().min(1).max(255),
    labels: labelMap.optional(),
    agentVersion: z.string().max(64).optional(),
  })
  .strict();

/** Exchanges a bootstrap token for a node credential bound to that token's cluster. */
export async function joinNode(deps: Deps, input: z.infer<typeof joinInput>) {
  const now = deps.now();
  // The token is the only thing known yet; it names the tenant and cluster.
  const [token] = await withSystem(deps.db, (tx) =>
    tx
      .select()
      .from(joinTokens)
      .where(and(eq(joinTokens.tokenHash, sha256Hex(input.joinToken)), gt(joinTokens.expiresAt, now))),
  );
  if (!token) throw new UnauthenticatedError("the join token is invalid or expired");
  const result = await withTenant(deps.db, token.tenantId, async (tx) => {
    const cluster = await loadCluster(tx, token.clusterId);
    if (!isOperational(cluster.status))
      throw new ConflictError(
        `cluster ${cluster.id} is ${cluster.status}; try again when it is active`,
        "CLUSTER_NOT_ACTIVE",
      );
    // A machine's own token: the node is that machine, with its pool's labels and taints.
    let machine: typeof machines.$inferSelect | undefined;
    let pool: typeof nodePools.$inferSelect | undefined;
    if (token.machineId) {
      [machine] = await tx.select().from(machines).where(eq(machines.id, token.machineId)).for("update");
      if (!machine || machine.status === "terminating" || machine.status === "terminated")
        throw new UnauthenticatedError("the join token's machine is gone");
      if (machine.nodeName !== input.name)
        throw new UnauthenticatedError("this join token is for another machine");
      [pool] = await tx.select().from(nodePools).where(eq(nodePools.id, machine.poolId));
    } else if (token.poolId) {
      // A bring-your-own pool's token: the node joins that pool.
      [pool] = await tx
        .select()
        .from(nodePools)
        .where(and(eq(nodePools.id, token.poolId), eq(nodePools.status, "active")));
      if (!pool) throw new UnauthenticatedError("the join token's node pool is gone");
    }
    const labels = {
      ...(input.labels ?? {}),
      ...(pool?.labels ?? {}),
      ...(pool && !machine ? { "berth.io/pool": pool.name } : {}),
      ...(machine
        ? {
            "berth.io/pool": pool?.name ?? "",
            "berth.io/machine": machine.id,
            "berth.io/instance-type": machine.instanceType,
          }
        : {}),
    };
    const values = {
      status: "ready" as const,
      statusReason: null,
      unschedulable: false,
      cpuMillis: input.capacity.cpuMillis,
      memoryBytes: input.capacity.memoryBytes,
      maxPods: input.capacity.pods,
      portMin: input.portRange.min,
      portMax: input.portRange.max,
      address: input.address,
      labels,
      taints: pool?.taints ?? [],
      agentVersion: input.agentVersion ?? null,
      lastHeartbeatAt: now,
    };
    // An agent that lost its state joins again under the same name: it takes its node back.
    const [existing] = await tx
      .select()
      .from(nodes)
      .where(and(eq(nodes.clusterId, cluster.id), eq(nodes.name, input.name), ne(nodes.status, "left")));
    const nodeId = existing?.id ?? newId("node");
    if (existing) await tx.update(nodes).set(values).where(eq(nodes.id, existing.id));
    else
      await tx.insert(nodes).values({
        id: nodeId,
        tenantId: cluster.tenantId,
        clusterId: cluster.id,
        name: input.name,
        ...values,
      });
    await openMeter(tx, {
      tenantId: cluster.tenantId,
      clusterId: cluster.id,
      meter: "node_hours",
      subjectId: nodeId,
      rate: 1n,
      at: now,
    });
    // The machine controller promotes a launching machine once its node has joined.
    if (machine)
      await tx
        .update(machines)
        .set({ nodeId, joinedAt: machine.joinedAt ?? now })
        .where(eq(machines.id, machine.id));
    await tx
      .update(joinTokens)
      .set({ usedCount: sql`${joinTokens.usedCount} + 1` })
      .where(eq(joinTokens.id, token.id));
    await recordEvent(tx, {
      tenantId: cluster.tenantId,
      clusterId: cluster.id,
      objectKind: "Node",
      objectName: input.name,
      reason: existing ? "Rejoined" : "Joined",
      message: `node ${input.name} joined with ${input.capacity.cpuMillis}m CPU, ${input.capacity.memoryBytes} bytes`,
    });
    const issued = await issueNodeCredential(
      deps.master,
      deps.publicUrl,
      cluster,
      { tenantId: cluster.tenantId, clusterId: cluster.id, nodeId },
      now,
    );
    return { nodeId, clusterId: cluster.id, ...issued };
  });
  await kick(deps, "cluster.reconcile", { tenantId: token.tenantId, clusterId: token.clusterId });
  if (token.machineId)
    await kick(deps, "machines.reconcile", { tenantId: token.tenantId, clusterId: token.clusterId });
  return {
    nodeId: result.nodeId,
    clusterId: result.clusterId,
    credential: result.credential,
    expiresAt: result.expiresAt.toISOString(),
    heartbeatIntervalMs: HEARTBEAT_INTERVAL_MS,
  };
}

const POD_STATES = ["creating", "running", "exited", "failed", "gone"] as const;

export const syncInput = z
  .object({
    pods: z
      .array(
        z
          .object({
            podId: z.string().min(1).max(64),
            state: z.enum(POD_STATES),
            restarts: z.number().int().min(0).max(1_000_000),
            ready: z.boolean(),
            message: z.string().max(1024).optional(),
          })
          .strict(),
      )
      .max(1000),
    left: z.boolean().optional(),
  })
  .strict();

export interface PodAssignment {
  podId: string;
  name: string;
  namespace: string;
  action: "run" | "stop";
  hostPorts: number[];
  containers: (typeof pods.$inferSelect)["template"]["containers"];
}

/**
 * The node agent's one call: it reports what its containers are doing, renews its lease, and gets
 * back what should run on it. All of it is one transaction.
 */
export async function syncNode(deps: Deps, caller: NodeCaller, input: z.infer<typeof syncInput>) {
  const now = deps.now();
  assertNoDuplicates(input.pods.map((p) => p.podId));
  let changed = false;
  const result = await withTenant(deps.db, caller.tenantId, async (tx) => {
    const [node] = await tx
      .select()
      .from(nodes)
      .where(and(eq(nodes.id, caller.nodeId), eq(nodes.clusterId, caller.clusterId)))
      .for("update");
    if (!node) throw new UnauthenticatedError("this node is not registered");
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

    if (node.status === "left") return { node, cluster, leave: true, assignments: [] as PodAssignment[] };
    if (input.left) {
      await releaseNode(tx, node.id, now, "the agent left");
      await event("Left", "the node agent stopped its pods and left the cluster");
      changed = true;
      return { node, cluster, leave: true, assignments: [] as PodAssignment[] };
    }

    const leave = node.status === "leaving" || cluster.status === "deleting" || cluster.status === "deleted";
    await tx
      .update(nodes)
      .set({
        lastHeartbeatAt: now,
        ...(node.status === "not_ready" ? { status: "ready", statusReason: null } : {}),
      })
      .where(eq(nodes.id, node.id));
    if (node.status === "not_ready") {
      await event("NodeReady", "the node is heartbeating again");
      changed = true;
    }

    const rows = await tx.select().from(pods).where(eq(pods.nodeId, node.id));
    const byId = new Map(rows.map((p) => [p.id, p]));
    const unknown: string[] = [];
    const gone = new Set<string>();
    for (const r of input.pods) {
      const pod = byId.get(r.podId);
      if (!pod) {
        if (r.state !== "gone") unknown.push(r.podId);
        continue;
      }
      const stopping = pod.deletionRequestedAt !== null || pod.phase === "Failed";
      if (stopping) {
        if (r.state === "gone") gone.add(pod.id);
        continue;
      }
      const patch: Partial<typeof pods.$inferInsert> = {};
      if (r.state === "running" && pod.phase !== "Running") {
        patch.phase = "Running";
        patch.startedAt = pod.startedAt ?? now;
        patch.reason = null;
        patch.message = null;
        await openMeter(tx, {
          tenantId: pod.tenantId,
          clusterId: pod.clusterId,
          meter: "pod_vcpu_seconds",
          subjectId: pod.id,
          rate: BigInt(pod.cpuMillis),
          at: now,
        });
        await openMeter(tx, {
          tenantId: pod.tenantId,
          clusterId: pod.clusterId,
          meter: "pod_memory_gib_seconds",
          subjectId: pod.id,
          rate: BigInt(pod.memoryBytes),
          at: now,
        });
      }
      if (r.state === "creating" && pod.reason !== "ContainerCreating") patch.reason = "ContainerCreating";
      if (r.state === "failed" && (pod.reason !== "ContainerFailed" || pod.message !== (r.message ?? null))) {
        patch.reason = "ContainerFailed";
        patch.message = r.message ?? null;
      }
      const ready = r.state === "running" && r.ready;
      if (ready !== pod.ready) patch.ready = ready;
      if (r.restarts > pod.restarts) patch.restarts = r.restarts;
      if (Object.keys(patch).length > 0) {
        await tx.update(pods).set(patch).where(eq(pods.id, pod.id));
        changed = true;
      }
    }
    // Pods being removed that the agent no longer has at all are gone too.
    const reported = new Set(input.pods.map((p) => p.podId));
    for (const p of rows)
      if ((p.deletionRequestedAt || p.phase === "Failed") && !reported.has(p.id)) gone.add(p.id);
    if (gone.size > 0) {
      for (const id of gone) await closeMeters(tx, id, now);
      await tx.delete(pods).where(inArray(pods.id, [...gone]));
      changed = true;
    }
    const assignments: PodAssignment[] = rows
      .filter((p) => !gone.has(p.id))
      .map((p) => ({
        podId: p.id,
        name: p.name,
        namespace: p.namespace,
        action: leave || p.deletionRequestedAt || p.phase === "Failed" ? ("stop" as const) : ("run" as const),
        hostPorts: p.hostPorts,
        containers: p.template.containers,
      }));
    for (const podId of unknown)
      assignments.push({ podId, name: podId, namespace: "", action: "stop", hostPorts: [], containers: [] });
    return { node, cluster, leave, assignments };
  });

  if (changed)
    await kick(deps, "cluster.reconcile", {
      tenantId: caller.tenantId,
      clusterId: caller.clusterId,
    });
  // Renew the credential when less than half of its life is left, or when the cluster's key rotated.
  let credential: { credential: string; expiresAt: string } | null = null;
  const halfLife = caller.expiresAt - now.getTime() < (NODE_CREDENTIAL_TTL_SECONDS * 1000) / 2;
  if (!result.leave && (halfLife || caller.kid !== result.cluster.signingKid)) {
    const issued = await issueNodeCredential(deps.master, deps.publicUrl, result.cluster, caller, now);
    credential = { credential: issued.credential, expiresAt: issued.expiresAt.toISOString() };
  }
  return {
    nodeId: result.node.id,
    leave: result.leave,
    heartbeatIntervalMs: HEARTBEAT_INTERVAL_MS,
    pods: result.assignments,
    credential,
  };
}

function assertNoDuplicates(ids: string[]): void {
  if (new Set(ids).size !== ids.length) throw new ValidationError("a pod is reported twice");
}
