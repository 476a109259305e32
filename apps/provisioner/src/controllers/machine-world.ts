import { clusters, latestLaunchFailures, machines, nodePools, nodes, pods, withTenant } from "@berth/db";
import { and, count, eq, isNotNull, ne, notInArray } from "drizzle-orm";
import type { Deps } from "../deps";
import type { MachineRow } from "../jobs/machines";
import { LIVE_STATES, type MachineProvider, type ProviderInstance } from "../providers/types";

export type PoolRow = typeof nodePools.$inferSelect;
export type ObservedInstance = ProviderInstance & { provider: MachineProvider };

/** What the machine controller sees of one cluster in one pass: the rows, and what the providers run. */
export interface MachineWorld {
  readonly deps: Deps;
  readonly now: Date;
  readonly cluster: typeof clusters.$inferSelect;
  readonly pools: PoolRow[];
  readonly machines: MachineRow[];
  readonly nodeById: ReadonlyMap<string, typeof nodes.$inferSelect>;
  /** How many pods each node still holds (bound and not finished, stopping ones included). */
  readonly podsOnNode: ReadonlyMap<string, number>;
  /** The cluster is being deleted: every pool goes to zero, nothing drains. */
  readonly clusterGoing: boolean;
  /** Instances the providers run for this cluster, by the machine id they are tagged with. */
  readonly observed: ReadonlyMap<string, ObservedInstance[]>;
  /** Each pool's latest machine whose launch the provider refused for good. */
  readonly launchFailures: ReadonlyMap<string, MachineRow>;
}

/** Machines that exist or are on their way: they count towards a pool's size. */
export const LIVE_MACHINE: MachineRow["status"][] = ["pending", "launching", "running"];

/** Reads the cluster's pools, machines and nodes (one transaction), then asks every provider what it runs. */
export async function observeMachineWorld(
  deps: Deps,
  ref: { tenantId: string; clusterId: string },
): Promise<MachineWorld | null> {
  const rows = await withTenant(deps.db, ref.tenantId, async (tx) => {
    const [cluster] = await tx.select().from(clusters).where(eq(clusters.id, ref.clusterId));
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
      launchFailures: await latestLaunchFailures(tx, cluster.id),
      podsOnNode: await tx
        .select({ nodeId: pods.nodeId, n: count() })
        .from(pods)
        .where(
          and(
            eq(pods.clusterId, cluster.id),
            isNotNull(pods.nodeId),
            notInArray(pods.phase, ["Succeeded", "Failed"]),
          ),
        )
        .groupBy(pods.nodeId),
    };
  });
  if (!rows) return null;
  const now = deps.now();
  const observed = new Map<string, ObservedInstance[]>();
  for (const provider of Object.values(deps.providers)) {
    for (const i of await provider.listOwned({ clusterId: rows.cluster.id })) {
      if (i.machineId) observed.set(i.machineId, [...(observed.get(i.machineId) ?? []), { ...i, provider }]); // one or two a machine
    }
  }
  return {
    deps,
    now,
    cluster: rows.cluster,
    pools: rows.pools,
    machines: rows.machines,
    nodeById: new Map(rows.nodes.map((n) => [n.id, n])),
    podsOnNode: new Map(rows.podsOnNode.map((r) => [r.nodeId ?? "", r.n])),
    clusterGoing: rows.cluster.status === "deleting" || rows.cluster.status === "deleted",
    observed,
    launchFailures: rows.launchFailures,
  };
}

/** The machine's instance if one is up (or on its way up). */
export function liveInstance(w: MachineWorld, m: MachineRow): ObservedInstance | undefined {
  return w.observed
    .get(m.id)
    ?.find((i) => LIVE_STATES.includes(i.state) && i.state !== "stopped" && i.state !== "stopping");
}

/** Any instance of the machine that is not terminated yet. */
export function anyInstance(w: MachineWorld, m: MachineRow): ObservedInstance | undefined {
  return w.observed.get(m.id)?.find((i) => i.state !== "terminated");
}

/** Orphans: instances tagged for this cluster whose machine is unknown or already terminated. */
export async function terminateOrphans(w: MachineWorld): Promise<number> {
  const known = new Set(w.machines.map((m) => m.id));
  let terminated = 0;
  for (const [machineId, instances] of w.observed) {
    if (known.has(machineId)) continue;
    // Terminated ones their provider keeps until told (a local VM's files) are let go.
    for (const i of instances.filter((x) => x.state === "terminated"))
      await i.provider.release?.(i.instanceId);
    for (const i of instances.filter((x) => x.state !== "terminated" && x.state !== "shutting-down")) {
      await i.provider.terminate(i.instanceId);
      terminated++;
      w.deps.logger.warn({ instanceId: i.instanceId, machineId }, "terminated an orphaned instance");
    }
  }
  return terminated;
}
