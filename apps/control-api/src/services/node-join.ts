import {
  ConflictError,
  INSTANCE_TYPES,
  type InstanceType,
  newId,
  sha256Hex,
  UnauthenticatedError,
  ValidationError,
} from "@berth/core";
import {
  isOperational,
  joinTokens,
  machines,
  nodePools,
  nodes,
  openMeter,
  recordEvent,
  releaseNode,
  type Tx,
  withSystem,
  withTenant,
} from "@berth/db";
import {
  AGENT_RELEASE,
  agentSkew,
  DEFAULT_ZONE,
  HEARTBEAT_INTERVAL_MS,
  isReservedLabelKey,
  type JoinReply,
  type JoinRequest,
  joinReplySchema,
  NODE_LABELS,
} from "@berth/protocol";
import { and, eq, gt, isNull, lt, ne, or, sql } from "drizzle-orm";
import { z } from "zod";
import { issueNodeCredential } from "../auth/node-credentials";
import type { Deps } from "../deps";
import { loadCluster } from "./clusters";
import { kick } from "./kick";
import { timestamp } from "./replies";

type TokenRow = typeof joinTokens.$inferSelect;
type NodeRow = typeof nodes.$inferSelect;
type MachineRow = typeof machines.$inferSelect;
type PoolRow = typeof nodePools.$inferSelect;

/** The agent's contract (`@berth/protocol`), strict: the control plane sends nothing else. */
export const joinReply = z.strictObject({ ...joinReplySchema.shape, expiresAt: timestamp });

/** Exchanges a bootstrap token for a node credential bound to that token's cluster. */
export async function joinNode(deps: Deps, input: JoinRequest): Promise<JoinReply> {
  assertNoReservedLabels(input.labels ?? {});
  assertSupportedAgent(deps, input.agentVersion);
  const now = deps.now();
  const token = await findToken(deps, input.joinToken, now);
  const result = await withTenant(deps.db, token.tenantId, async (tx) => {
    const cluster = await loadCluster(tx, token.clusterId);
    if (!isOperational(cluster.status))
      throw new ConflictError(
        `cluster ${cluster.id} is ${cluster.status}; try again when it is active`,
        "CLUSTER_NOT_ACTIVE",
      );
    const { machine, pool } = await tokenScope(tx, token, input.name);
    const existing = await claimName(tx, cluster.id, input.name, machine, now);
    const values = nodeValues(input, machine, pool, now);
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
    await recordEvent(tx, {
      tenantId: cluster.tenantId,
      clusterId: cluster.id,
      objectKind: "Node",
      objectName: input.name,
      reason: existing ? "Rejoined" : "Joined",
      message: `node ${input.name} joined with ${input.capacity.cpuMillis}m CPU, ${input.capacity.memoryBytes} bytes`,
    });
    // Last: the token's row stays locked from here to COMMIT, and every join with the same token
    // waits for it (a pool's nodes share one), so nothing else runs while it is held.
    await useToken(tx, token);
    return { nodeId, cluster };
  });
  // Signed once the node is committed, outside the token's lock. Should signing fail, the agent
  // joins again and takes over its own row (claimName).
  const issued = await issueNodeCredential(
    deps.master,
    deps.publicUrl,
    result.cluster,
    { tenantId: result.cluster.tenantId, clusterId: result.cluster.id, nodeId: result.nodeId },
    now,
  );
  await kick(deps, "cluster.reconcile", { tenantId: token.tenantId, clusterId: token.clusterId });
  if (token.machineId)
    await kick(deps, "machines.reconcile", { tenantId: token.tenantId, clusterId: token.clusterId });
  return {
    nodeId: result.nodeId,
    clusterId: result.cluster.id,
    credential: issued.credential,
    expiresAt: issued.expiresAt.toISOString(),
    heartbeatIntervalMs: HEARTBEAT_INTERVAL_MS,
  };
}

/** Labels the platform sets (pool, machine, Kubernetes' own) are never taken from an agent. */
function assertNoReservedLabels(labels: Record<string, string>): void {
  const reserved = Object.keys(labels).filter(isReservedLabelKey);
  if (reserved.length > 0)
    throw new ValidationError(
      `label ${JSON.stringify(reserved[0])} is set by the platform, not by the node agent`,
      reserved.map((k) => ({ path: `labels.${k}`, message: "reserved for the platform" })),
    );
}

/**
 * The version skew this control plane admits (Kubernetes' kubelet rule, see agent-version.ts): an
 * agent newer than it, more than two minor releases older, or of another major is refused, told to
 * install the agent served here. An agent that names no version is admitted (it predates the rule).
 */
function assertSupportedAgent(deps: Deps, agentVersion: string | undefined): void {
  if (agentVersion === undefined) return;
  const skew = agentSkew(AGENT_RELEASE, agentVersion);
  if (skew.ok) return;
  // The schema admits only versions; a malformed one here is the caller's mistake all the same.
  if (skew.reason === "malformed")
    throw new ValidationError(skew.message, [{ path: "agentVersion", message: skew.message }]);
  throw new ConflictError(
    `${skew.message}. Reinstall the agent this control plane serves: curl -fsSL ${deps.publicUrl}/v1/agent/install.sh | sudo sh`,
    "AGENT_VERSION_UNSUPPORTED",
  );
}

/** The token is the only thing known yet; it names the tenant and cluster. Unusable tokens are all 401. */
async function findToken(deps: Deps, secret: string, now: Date): Promise<TokenRow> {
  const [token] = await withSystem(deps.db, (tx) =>
    tx
      .select()
      .from(joinTokens)
      .where(
        and(
          eq(joinTokens.tokenHash, sha256Hex(secret)),
          gt(joinTokens.expiresAt, now),
          isNull(joinTokens.revokedAt),
          or(isNull(joinTokens.maxUses), lt(joinTokens.usedCount, joinTokens.maxUses)),
        ),
      ),
  );
  if (!token) throw new UnauthenticatedError("the join token is invalid, expired, revoked or used up");
  return token;
}

/**
 * Counts one use of the token, unless it is used up by now: a concurrent join with the same token
 * waits for this row and then finds it spent. Rolled back with the join when the join fails.
 */
async function useToken(tx: Tx, token: TokenRow): Promise<void> {
  const [used] = await tx
    .update(joinTokens)
    .set({ usedCount: sql`${joinTokens.usedCount} + 1` })
    .where(
      and(
        eq(joinTokens.id, token.id),
        isNull(joinTokens.revokedAt),
        or(isNull(joinTokens.maxUses), lt(joinTokens.usedCount, joinTokens.maxUses)),
      ),
    )
    .returning({ id: joinTokens.id });
  if (!used) throw new UnauthenticatedError("the join token is invalid, expired, revoked or used up");
}

/** A machine's own token: the node is that machine. A pool's token: the node joins that pool. */
async function tokenScope(
  tx: Tx,
  token: TokenRow,
  name: string,
): Promise<{ machine: MachineRow | undefined; pool: PoolRow | undefined }> {
  if (token.machineId) {
    const [machine] = await tx.select().from(machines).where(eq(machines.id, token.machineId)).for("update");
    if (!machine || machine.status === "terminating" || machine.status === "terminated")
      throw new UnauthenticatedError("the join token's machine is gone");
    if (machine.nodeName !== name) throw new UnauthenticatedError("this join token is for another machine");
    const [pool] = await tx.select().from(nodePools).where(eq(nodePools.id, machine.poolId));
    return { machine, pool };
  }
  if (token.poolId) {
    const [pool] = await tx
      .select()
      .from(nodePools)
      .where(and(eq(nodePools.id, token.poolId), eq(nodePools.status, "active")));
    if (!pool) throw new UnauthenticatedError("the join token's node pool is gone");
    return { machine: undefined, pool };
  }
  return { machine: undefined, pool: undefined };
}

/**
 * Who may use the name. A machine joining with its own token takes its node back (its agent lost
 * its state). Anyone else meets a live node of that name with 409; a node that is `not_ready`
 * (silent past its lease) is retired first: marked left, its pods released to be placed again,
 * its credential refused from now on. The newcomer then gets a node id of its own.
 */
async function claimName(
  tx: Tx,
  clusterId: string,
  name: string,
  machine: MachineRow | undefined,
  now: Date,
): Promise<NodeRow | undefined> {
  const [existing] = await tx
    .select()
    .from(nodes)
    .where(and(eq(nodes.clusterId, clusterId), eq(nodes.name, name), ne(nodes.status, "left")))
    .for("update");
  if (!existing) return undefined;
  if (machine && existing.labels[NODE_LABELS.machine] === machine.id) return existing;
  if (existing.status !== "not_ready")
    throw new ConflictError(
      `a node named ${JSON.stringify(name)} is ${existing.status === "leaving" ? "leaving" : "alive"} in this cluster; choose another name`,
    );
  await releaseNode(tx, existing.id, now, "replaced: a new node joined under its name");
  await recordEvent(tx, {
    tenantId: existing.tenantId,
    clusterId,
    objectKind: "Node",
    objectName: name,
    type: "Warning",
    reason: "Replaced",
    message: `node ${existing.id} was not ready; a new node joined under its name and it was retired (its pods are placed again)`,
  });
  return undefined;
}

/**
 * The node's zone: its machine's (EC2's availability zone), else its pool's, else the one its agent
 * names (a byo machine knows its rack or site, as a kubelet sets its own zone label), else
 * DEFAULT_ZONE. An agent naming another zone than its machine's or pool's is refused.
 */
function zoneOf(input: JoinRequest, machine: MachineRow | undefined, pool: PoolRow | undefined): string {
  const fixed = machine?.zone ?? pool?.zone ?? null;
  if (fixed !== null && input.zone !== undefined && input.zone !== fixed)
    throw new ValidationError(`zone: this node's ${machine?.zone ? "machine" : "pool"} is in zone ${fixed}`, [
      { path: "zone", message: `the node is in zone ${fixed}; leave zone unset or give that one` },
    ]);
  return fixed ?? input.zone ?? DEFAULT_ZONE;
}

/**
 * Extended resources the node offers: a machine Berth runs offers what its instance type has (a
 * GPU pool's `berth.dev/gpu`), whatever its agent says; any other node what its agent advertises.
 */
function extendedOf(input: JoinRequest, machine: MachineRow | undefined): Record<string, number> {
  if (machine) return { ...(INSTANCE_TYPES[machine.instanceType as InstanceType]?.extended ?? {}) };
  return Object.fromEntries(Object.entries(input.capacity.extended ?? {}).filter(([, n]) => n > 0));
}

function nodeValues(
  input: JoinRequest,
  machine: MachineRow | undefined,
  pool: PoolRow | undefined,
  now: Date,
): Omit<typeof nodes.$inferInsert, "id" | "tenantId" | "clusterId" | "name"> {
  const labels = {
    ...(input.labels ?? {}),
    ...(pool?.labels ?? {}),
    ...(pool && !machine ? { [NODE_LABELS.pool]: pool.name } : {}),
    ...(machine
      ? {
          [NODE_LABELS.pool]: pool?.name ?? "",
          [NODE_LABELS.machine]: machine.id,
          [NODE_LABELS.instanceType]: machine.instanceType,
        }
      : {}),
    // Kubernetes' well-known topology labels, set by the platform only (last, so nothing overrides them).
    [NODE_LABELS.hostname]: input.name,
    [NODE_LABELS.zone]: zoneOf(input, machine, pool),
  };
  return {
    status: "ready",
    statusReason: null,
    unschedulable: false,
    cpuMillis: input.capacity.cpuMillis,
    memoryBytes: input.capacity.memoryBytes,
    maxPods: input.capacity.pods,
    extendedResources: extendedOf(input, machine),
    drainRequestedAt: null,
    portMin: input.portRange.min,
    portMax: input.portRange.max,
    address: input.address,
    labels,
    taints: pool?.taints ?? [],
    reservedHostPorts: [],
    agentVersion: input.agentVersion ?? null,
    lastHeartbeatAt: now,
  };
}
