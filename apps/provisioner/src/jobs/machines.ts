import { randomBytes } from "node:crypto";
import { type InstanceType, machineMeter, newId, sha256Hex } from "@berth/core";
import {
  closeMeters,
  joinTokens,
  LAUNCH_FAILED,
  machines,
  nodes,
  openMeter,
  pods,
  recordEvent,
  releaseNode,
  type Tx,
  withTenant,
} from "@berth/db";
import { and, eq, inArray, isNull } from "drizzle-orm";
import type { Deps } from "../deps";
import { nodeUserData } from "../providers/user-data";

export type MachineRow = typeof machines.$inferSelect;

/** Runs `fn` on the machine row, locked, only while it is still in one of `states` (another worker may have moved it). */
export async function withMachine<T>(
  deps: Deps,
  m: MachineRow,
  states: MachineRow["status"][],
  fn: (tx: Tx, row: MachineRow) => Promise<T>,
): Promise<T | undefined> {
  return withTenant(deps.db, m.tenantId, async (tx) => {
    const [row] = await tx.select().from(machines).where(eq(machines.id, m.id)).for("update");
    if (!row || !states.includes(row.status)) return undefined;
    return fn(tx, row);
  });
}

const machineEvent = (
  tx: Tx,
  m: MachineRow,
  reason: string,
  message: string,
  type: "Normal" | "Warning" = "Normal",
) =>
  recordEvent(tx, {
    tenantId: m.tenantId,
    clusterId: m.clusterId,
    objectKind: "Machine",
    objectName: m.nodeName,
    type,
    reason,
    message,
  });

/** A one-machine bootstrap token: the node that joins with it is this machine (see joinNode). */
async function machineJoinToken(deps: Deps, m: MachineRow): Promise<string> {
  const token = `bjt_${randomBytes(32).toString("base64url")}`;
  await withTenant(deps.db, m.tenantId, (tx) =>
    tx.insert(joinTokens).values({
      id: newId("joinToken"),
      tenantId: m.tenantId,
      clusterId: m.clusterId,
      machineId: m.id,
      tokenHash: sha256Hex(token),
      expiresAt: new Date(deps.now().getTime() + deps.timings.machineJoinTimeoutMs + 600_000),
    }),
  );
  return token;
}

/**
 * Launches a pending machine. If an instance already carries its id (a launch before a crash),
 * it is adopted instead; otherwise the provider is asked with the machine id as idempotency token.
 */
export async function launch(
  deps: Deps,
  m: MachineRow,
  adoptable: { instanceId: string; zone?: string | undefined } | null,
): Promise<void> {
  const provider = deps.providers[m.provider as "ec2"];
  let instanceId = adoptable?.instanceId ?? null;
  let zone = adoptable?.zone ?? null;
  if (!instanceId) {
    if (!provider) {
      await withMachine(deps, m, ["pending"], (tx) =>
        tx
          .update(machines)
          .set({ statusReason: `the ${m.provider} provider is not configured on this provisioner` })
          .where(eq(machines.id, m.id)),
      );
      return;
    }
    const joinToken = await machineJoinToken(deps, m);
    deps.crashpoint("machines.before-launch");
    ({ instanceId, zone } = await provider.create({
      machineId: m.id,
      tenantId: m.tenantId,
      clusterId: m.clusterId,
      poolId: m.poolId,
      instanceType: m.instanceType as InstanceType,
      boot: { joinToken, nodeName: m.nodeName },
      userData: nodeUserData({
        server: deps.apiUrl,
        joinToken,
        nodeName: m.nodeName,
        instanceType: m.instanceType as InstanceType,
      }),
    }));
    deps.crashpoint("machines.after-launch");
  }
  const now = deps.now();
  await withMachine(deps, m, ["pending"], async (tx) => {
    await tx
      .update(machines)
      .set({ status: "launching", instanceId, zone, launchedAt: now, statusReason: null })
      .where(eq(machines.id, m.id));
    await openMeter(tx, {
      tenantId: m.tenantId,
      clusterId: m.clusterId,
      meter: machineMeter(m.instanceType as InstanceType),
      subjectId: m.id,
      rate: 1n,
      at: now,
    });
    await machineEvent(
      tx,
      m,
      adoptable ? "Adopted" : "Launched",
      `${m.provider} instance ${instanceId} (${m.instanceType})`,
    );
  });
}

/**
 * Retires a machine. With `drain`, its node is cordoned and drained: the cluster's control loop
 * evicts its pods as their PodDisruptionBudgets allow, then the node is asked to leave (see
 * `nodeLeaves`), then the instance is terminated. Without, the node leaves at once and its pods
 * stop. Called again until the provider reports the instance gone.
 */
export async function retire(deps: Deps, m: MachineRow, reason: string, drain: boolean): Promise<void> {
  const retired = await withMachine(deps, m, ["pending", "launching", "running"], (tx, row) =>
    retireIn(tx, row, reason, drain, deps.now()),
  );
  // The drain is the cluster loop's work: start it now rather than on its next periodic pass.
  if (retired)
    await deps.queues.enqueue("cluster.reconcile", { tenantId: m.tenantId, clusterId: m.clusterId });
}

/**
 * `retire` in the caller's transaction, on a machine row it has locked (still live): returns
 * whether its node is now draining (the cluster loop has work).
 */
export async function retireIn(
  tx: Tx,
  row: MachineRow,
  reason: string,
  drain: boolean,
  now: Date,
): Promise<boolean> {
  await tx
    .update(machines)
    .set({ status: "terminating", statusReason: reason, terminateRequestedAt: now })
    .where(eq(machines.id, row.id));
  if (row.nodeId) {
    const live = and(eq(nodes.id, row.nodeId), inArray(nodes.status, ["ready", "not_ready"]));
    if (drain)
      await tx
        .update(nodes)
        .set({ unschedulable: true, drainRequestedAt: now, statusReason: `machine retiring: ${reason}` })
        .where(live);
    else {
      await tx
        .update(nodes)
        .set({ status: "leaving", unschedulable: true, statusReason: `machine retiring: ${reason}` })
        .where(live);
      await tx
        .update(pods)
        .set({ deletionRequestedAt: now })
        .where(and(eq(pods.nodeId, row.nodeId), isNull(pods.deletionRequestedAt)));
    }
  }
  await machineEvent(tx, row, "Terminating", reason, drain ? "Normal" : "Warning");
  return row.nodeId !== null && drain;
}

/** A retiring machine's node has no pods left (or ran out of time): it is told to stop and leave. */
export async function nodeLeaves(deps: Deps, m: MachineRow, nodeId: string, why: string): Promise<void> {
  await withMachine(deps, m, ["terminating"], async (tx, row) => {
    await tx
      .update(nodes)
      .set({ status: "leaving", unschedulable: true })
      .where(and(eq(nodes.id, nodeId), inArray(nodes.status, ["ready", "not_ready"])));
    await machineEvent(tx, row, "NodeLeaving", why);
  });
}

/** Marks a machine terminated once its instance is gone: the node is released, metering stops. */
export async function markTerminated(deps: Deps, m: MachineRow): Promise<void> {
  const now = deps.now();
  await withMachine(deps, m, ["terminating"], async (tx, row) => {
    await tx.update(machines).set({ status: "terminated", terminatedAt: now }).where(eq(machines.id, row.id));
    await closeMeters(tx, row.id, now);
    if (row.nodeId) await releaseNode(tx, row.nodeId, now, "its machine was terminated");
    await machineEvent(tx, row, "Terminated", `instance ${row.instanceId ?? "(never launched)"} is gone`);
  });
}

/**
 * The provider refused to launch a pending machine for good (an invalid image or instance type):
 * the machine ends terminated with the provider's reason, its join token goes, and the machine and
 * its pool each get a Warning event. The pool launches no more machines until it is updated.
 */
export async function failLaunch(
  deps: Deps,
  m: MachineRow,
  poolName: string,
  message: string,
): Promise<void> {
  const now = deps.now();
  await withMachine(deps, m, ["pending"], async (tx, row) => {
    await tx
      .update(machines)
      .set({ status: "terminated", statusReason: `${LAUNCH_FAILED}${message}`, terminatedAt: now })
      .where(eq(machines.id, row.id));
    await tx.delete(joinTokens).where(eq(joinTokens.machineId, row.id));
    await machineEvent(tx, row, "LaunchFailed", message, "Warning");
    await recordEvent(tx, {
      tenantId: row.tenantId,
      clusterId: row.clusterId,
      objectKind: "NodePool",
      objectName: poolName,
      type: "Warning",
      reason: "LaunchFailed",
      message: `machine ${row.nodeName} could not be launched: ${message}; no more machines are launched until the pool is updated`,
    });
  });
}
