import { newId } from "@berth/core";
import { launchFailureCondition, machines, nodePools, recordEvent, withTenant } from "@berth/db";
import { and, eq } from "drizzle-orm";
import { type MachineRow, retire } from "../jobs/machines";
import { LIVE_MACHINE, type MachineWorld, type PoolRow } from "./machine-world";

/** What sizing one pool did. */
export interface PoolOutcome {
  created: number;
  retired: number;
  /** Work is in flight: look again soon. */
  pending: boolean;
}

/** Which machines to give up first when a pool shrinks: never launched, then not joined, then the newest. */
function shrinkOrder(a: MachineRow, b: MachineRow): number {
  const rank = (m: MachineRow) => LIVE_MACHINE.indexOf(m.status);
  return rank(a) - rank(b) || +b.createdAt - +a.createdAt;
}

/** Adds machine rows up to the pool's desired size, re-counted under the pool's lock. */
async function scaleUp(w: MachineWorld, pool: PoolRow, live: number, count: number): Promise<number> {
  let created = 0;
  await withTenant(w.deps.db, pool.tenantId, async (tx) => {
    // Re-count under the pool's lock: two passes at once must not both add machines.
    const [locked] = await tx.select().from(nodePools).where(eq(nodePools.id, pool.id)).for("update");
    if (locked?.status !== "active") return;
    const current = await tx
      .select({ id: machines.id, status: machines.status })
      .from(machines)
      .where(eq(machines.poolId, pool.id));
    const need = locked.desiredSize - current.filter((x) => LIVE_MACHINE.includes(x.status)).length;
    if (need <= 0) return;
    const rows = Array.from({ length: Math.min(need, count) }, () => {
      const id = newId("machine");
      return {
        id,
        tenantId: pool.tenantId,
        clusterId: pool.clusterId,
        poolId: pool.id,
        provider: pool.provider,
        instanceType: pool.instanceType,
        nodeName: `${pool.name}-${id.slice(-8)}`,
      };
    });
    await tx.insert(machines).values(rows);
    await recordEvent(tx, {
      tenantId: pool.tenantId,
      clusterId: pool.clusterId,
      objectKind: "NodePool",
      objectName: pool.name,
      reason: "ScalingUp",
      message: `${rows.length} machine(s) requested (${live} → ${locked.desiredSize})`,
    });
    created = rows.length;
  });
  w.deps.crashpoint("machines.after-insert");
  return created;
}

/** Retires the machines a pool has too many of, the cheapest to lose first. */
async function scaleDown(
  w: MachineWorld,
  pool: PoolRow,
  live: MachineRow[],
  target: number,
): Promise<number> {
  const victims = [...live].sort(shrinkOrder).slice(0, live.length - target);
  for (const m of victims)
    await retire(
      w.deps,
      m,
      w.clusterGoing
        ? "the cluster is being deleted"
        : target === 0 && pool.status !== "active"
          ? "the node pool is being deleted"
          : `scaling ${pool.name} to ${target}`,
      !w.clusterGoing,
    );
  return victims.length;
}

/** A deleting pool with no machine left is deleted. */
async function finishPoolDeletion(w: MachineWorld, pool: PoolRow): Promise<void> {
  await withTenant(w.deps.db, pool.tenantId, async (tx) => {
    await tx
      .update(nodePools)
      .set({ status: "deleted", deletedAt: w.now })
      .where(and(eq(nodePools.id, pool.id), eq(nodePools.status, "deleting")));
    await recordEvent(tx, {
      tenantId: pool.tenantId,
      clusterId: pool.clusterId,
      objectKind: "NodePool",
      objectName: pool.name,
      reason: "Deleted",
      message: "every machine terminated",
    });
  });
}

/**
 * Whether the pool had a launch refused for good since it was last updated: launching the same
 * machine again would be refused again, so it waits for its owner (or the platform) to change it.
 */
export function launchBlocked(w: MachineWorld, pool: PoolRow): boolean {
  return launchFailureCondition(pool, w.launchFailures.get(pool.id)) !== null;
}

/**
 * Moves a pool towards its size (not up while `launchBlocked`): an active pool towards its desired size; a pool being deleted,
 * and every pool of a deleting cluster, to zero. Bring-your-own pools launch nothing.
 */
export async function sizePool(w: MachineWorld, pool: PoolRow): Promise<PoolOutcome> {
  const none: PoolOutcome = { created: 0, retired: 0, pending: false };
  const live = w.machines.filter((m) => m.poolId === pool.id && LIVE_MACHINE.includes(m.status));
  const target = w.clusterGoing || pool.status !== "active" ? 0 : pool.desiredSize;
  if (pool.provider === "byo") return none;
  if (live.length < target && launchBlocked(w, pool)) return none;
  if (live.length < target)
    return { ...none, created: await scaleUp(w, pool, live.length, target - live.length), pending: true };
  if (live.length > target)
    return { ...none, retired: await scaleDown(w, pool, live, target), pending: true };
  if (
    pool.status === "deleting" &&
    live.length === 0 &&
    !w.machines.some((m) => m.poolId === pool.id && m.status === "terminating")
  )
    await finishPoolDeletion(w, pool);
  return none;
}
