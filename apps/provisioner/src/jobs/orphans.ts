import { clusters, machines, withSystem } from "@berth/db";
import { inArray } from "drizzle-orm";
import type { Deps } from "../deps";
import { LIVE_STATES } from "../providers/types";

/**
 * The account-wide orphan sweeper: every instance carrying Berth's tags whose machine is not
 * (or no longer) meant to run is terminated — including instances of clusters that have no pool
 * left for the per-cluster controller to look at. Only instances tagged with a cluster of this
 * installation's database are touched, so another Berth sharing the account is left alone.
 */
export async function sweepOrphans(deps: Deps): Promise<{ checked: number; terminated: number }> {
  let checked = 0;
  let terminated = 0;
  for (const provider of Object.values(deps.providers)) {
    const owned = (await provider.listOwned({})).filter((i) => LIVE_STATES.includes(i.state) && i.clusterId);
    checked += owned.length;
    if (owned.length === 0) continue;
    const { ours, wanted } = await withSystem(deps.db, async (tx) => {
      const clusterIds = [...new Set(owned.map((i) => i.clusterId ?? ""))];
      const machineIds = owned.map((i) => i.machineId ?? "").filter(Boolean);
      const known = await tx
        .select({ id: clusters.id })
        .from(clusters)
        .where(inArray(clusters.id, clusterIds));
      const rows = machineIds.length
        ? await tx
            .select({ id: machines.id, status: machines.status })
            .from(machines)
            .where(inArray(machines.id, machineIds))
        : [];
      return {
        ours: new Set(known.map((c) => c.id)),
        // A machine still on its way up, running, or being terminated by its controller is not an orphan.
        wanted: new Set(rows.filter((m) => m.status !== "terminated").map((m) => m.id)),
      };
    });
    for (const i of owned) {
      if (!ours.has(i.clusterId ?? "") || (i.machineId && wanted.has(i.machineId))) continue;
      await provider.terminate(i.instanceId);
      terminated++;
      deps.logger.warn(
        { instanceId: i.instanceId, machineId: i.machineId, clusterId: i.clusterId },
        "terminated an orphaned instance",
      );
    }
  }
  return { checked, terminated };
}
