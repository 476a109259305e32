import { type JobPayload, newId } from "@berth/core";
import { clusters, machines, nodePools, nodes, recordEvent, withTenant } from "@berth/db";
import { and, eq, ne } from "drizzle-orm";
import type { Deps } from "../deps";
import { LIVE_STATES, type MachineProvider, type ProviderInstance } from "../providers/types";
import { launch, type MachineRow, markTerminated, retire, withMachine } from "./machines";

export interface MachinesResult {
  created: number;
  launched: number;
  retired: number;
  terminated: number;
  orphans: number;
  /** Work is still in flight (launches to confirm, instances to see gone): run again soon. */
  pending: boolean;
}

const LIVE_MACHINE: MachineRow["status"][] = ["pending", "launching", "running"];

/** Which machines to give up first when a pool shrinks: never launched, then not joined, then the newest. */
function shrinkOrder(a: MachineRow, b: MachineRow): number {
  const rank = (m: MachineRow) => LIVE_MACHINE.indexOf(m.status);
  return rank(a) - rank(b) || +b.createdAt - +a.createdAt;
}

/**
 * One pass of a cluster's machine controller: compare what the providers run with what the node
 * pools want, and move each machine one step. Provider calls happen outside transactions; every
 * step re-checks the row it changes, so a crash or a second worker at any line is harmless.
 */
export async function reconcileMachines(
  deps: Deps,
  p: JobPayload<"machines.reconcile">,
): Promise<MachinesResult> {
  const result: MachinesResult = {
    created: 0,
    launched: 0,
    retired: 0,
    terminated: 0,
    orphans: 0,
    pending: false,
  };
  const state = await withTenant(deps.db, p.tenantId, async (tx) => {
    const [cluster] = await tx.select().from(clusters).where(eq(clusters.id, p.clusterId));
    if (!cluster) return null;
    return {
      cluster,
      pools: await tx
        .select()
        .from(nodePools)
        .where(and(eq(nodePools.clusterId, cluster.id), ne(nodePools.status, "deleted"))),
      machines: await tx
        .select()
        .from(machines)
        .where(and(eq(machines.clusterId, cluster.id), ne(machines.status, "terminated"))),
      nodes: await tx
        .select()
        .from(nodes)
        .where(and(eq(nodes.clusterId, cluster.id), ne(nodes.status, "left"))),
    };
  });
  if (!state) return result;
  const now = deps.now();
  const clusterGoing = state.cluster.status === "deleting" || state.cluster.status === "deleted";

  // What the providers actually run for this cluster.
  const observed = new Map<string, (ProviderInstance & { provider: MachineProvider })[]>();
  for (const provider of Object.values(deps.providers)) {
    for (const i of await provider.listOwned({ clusterId: state.cluster.id })) {
      if (i.machineId) observed.set(i.machineId, [...(observed.get(i.machineId) ?? []), { ...i, provider }]);
    }
  }
  const liveInstance = (m: MachineRow) =>
    observed
      .get(m.id)
      ?.find((i) => LIVE_STATES.includes(i.state) && i.state !== "stopped" && i.state !== "stopping");
  const anyInstance = (m: MachineRow) => observed.get(m.id)?.find((i) => i.state !== "terminated");

  // Orphans: instances tagged for this cluster whose machine is unknown or already terminated.
  const known = new Set(state.machines.map((m) => m.id));
  for (const [machineId, instances] of observed) {
    if (known.has(machineId)) continue;
    for (const i of instances.filter((x) => x.state !== "terminated" && x.state !== "shutting-down")) {
      await i.provider.terminate(i.instanceId);
      result.orphans++;
      deps.logger.warn({ instanceId: i.instanceId, machineId }, "terminated an orphaned instance");
    }
  }

  const nodeById = new Map(state.nodes.map((n) => [n.id, n]));
  for (const m of state.machines) {
    const pool = state.pools.find((x) => x.id === m.poolId);
    if (m.status === "pending") {
      if (clusterGoing || !pool || pool.status !== "active") await retire(deps, m, "no longer wanted", false);
      else {
        await launch(deps, m, anyInstance(m)?.instanceId ?? null);
        result.launched++;
      }
      result.pending = true;
    } else if (m.status === "launching" || m.status === "running") {
      const node = m.nodeId ? nodeById.get(m.nodeId) : undefined;
      if (!liveInstance(m)) {
        await retire(deps, m, "its instance stopped or disappeared", false);
        result.retired++;
      } else if (
        m.status === "launching" &&
        m.launchedAt &&
        now.getTime() - m.launchedAt.getTime() > deps.timings.machineJoinTimeoutMs
      ) {
        await retire(
          deps,
          m,
          `its node did not join within ${deps.timings.machineJoinTimeoutMs / 1000} s`,
          false,
        );
        result.retired++;
      } else if (
        node?.status === "not_ready" &&
        now.getTime() - node.lastHeartbeatAt.getTime() > deps.timings.machineRepairTimeoutMs
      ) {
        await retire(
          deps,
          m,
          `its node has been not ready for over ${deps.timings.machineRepairTimeoutMs / 1000} s`,
          false,
        );
        result.retired++;
      } else if (m.status === "launching" && node) {
        await withMachine(deps, m, ["launching"], async (tx, row) => {
          await tx.update(machines).set({ status: "running" }).where(eq(machines.id, row.id));
          await recordEvent(tx, {
            tenantId: row.tenantId,
            clusterId: row.clusterId,
            objectKind: "Machine",
            objectName: row.nodeName,
            reason: "Joined",
            message: `its node ${node.name} joined`,
          });
        });
      } else if (m.status === "launching") result.pending = true;
    } else if (m.status === "terminating") {
      const node = m.nodeId ? nodeById.get(m.nodeId) : undefined;
      const draining =
        node &&
        node.status === "leaving" &&
        m.terminateRequestedAt &&
        now.getTime() - m.terminateRequestedAt.getTime() < deps.timings.drainTimeoutMs;
      const instance = anyInstance(m);
      if (draining) {
        // Wait for the agent to move its pods and leave (or for the drain timeout).
      } else if (instance) {
        await instance.provider.terminate(instance.instanceId);
        deps.crashpoint("machines.after-terminate");
      } else {
        await markTerminated(deps, m);
        result.terminated++;
        continue;
      }
      result.pending = true;
    }
  }

  // Sizes: every active pool towards its desired size; pools being deleted, and a deleting cluster, to zero.
  for (const pool of state.pools) {
    const live = state.machines.filter((m) => m.poolId === pool.id && LIVE_MACHINE.includes(m.status));
    const target = clusterGoing || pool.status !== "active" ? 0 : pool.desiredSize;
    if (pool.provider === "byo") continue;
    if (live.length < target) {
      const count = target - live.length;
      await withTenant(deps.db, pool.tenantId, async (tx) => {
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
          message: `${rows.length} machine(s) requested (${live.length} → ${locked.desiredSize})`,
        });
        result.created += rows.length;
      });
      deps.crashpoint("machines.after-insert");
      result.pending = true;
    } else if (live.length > target) {
      for (const m of [...live].sort(shrinkOrder).slice(0, live.length - target)) {
        await retire(
          deps,
          m,
          clusterGoing
            ? "the cluster is being deleted"
            : target === 0 && pool.status !== "active"
              ? "the node pool is being deleted"
              : `scaling ${pool.name} to ${target}`,
          !clusterGoing,
        );
        result.retired++;
      }
      result.pending = true;
    } else if (
      pool.status === "deleting" &&
      live.length === 0 &&
      !state.machines.some((m) => m.poolId === pool.id && m.status === "terminating")
    ) {
      await withTenant(deps.db, pool.tenantId, async (tx) => {
        await tx
          .update(nodePools)
          .set({ status: "deleted", deletedAt: now })
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
  }
  return result;
}
