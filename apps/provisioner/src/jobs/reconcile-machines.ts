import type { JobPayload } from "@berth/core";
import { stepMachine } from "../controllers/machine-step";
import { observeMachineWorld, terminateOrphans } from "../controllers/machine-world";
import { sizePool } from "../controllers/pool-size";
import type { Deps } from "../deps";

export interface MachinesResult {
  created: number;
  launched: number;
  /** Launches the provider refused for good. */
  failed: number;
  retired: number;
  terminated: number;
  orphans: number;
  /** Work is still in flight (launches to confirm, instances to see gone): run again soon. */
  pending: boolean;
}

/**
 * One pass of a cluster's machine controller: compare what the providers run with what the node
 * pools want (observeMachineWorld), terminate instances nobody owns (terminateOrphans), move each
 * machine one step (stepMachine), then each pool towards its size (sizePool). Provider calls
 * happen outside transactions; every step re-checks the row it changes, so a crash or a second
 * worker at any line is harmless.
 */
export async function reconcileMachines(
  deps: Deps,
  p: JobPayload<"machines.reconcile">,
): Promise<MachinesResult> {
  const result: MachinesResult = {
    created: 0,
    launched: 0,
    failed: 0,
    retired: 0,
    terminated: 0,
    orphans: 0,
    pending: false,
  };
  const world = await observeMachineWorld(deps, p);
  if (!world) return result;
  result.orphans = await terminateOrphans(world);

  // One machine whose step fails (a provider that is down) does not hold up the others or the
  // pools; the first such error is thrown at the end, so the job is retried with back-off.
  let deferred: unknown;
  for (const m of world.machines) {
    let outcome: Awaited<ReturnType<typeof stepMachine>>;
    try {
      outcome = await stepMachine(world, m);
    } catch (error) {
      deps.logger.warn({ err: error, machineId: m.id }, "machine step failed; going on with the others");
      deferred ??= error;
      continue;
    }
    if (outcome === "launched") result.launched++;
    if (outcome === "failed") result.failed++;
    if (outcome === "retired") result.retired++;
    if (outcome === "terminated") result.terminated++;
    if (outcome === "launched" || outcome === "waiting") result.pending = true;
  }

  for (const pool of world.pools) {
    const sized = await sizePool(world, pool);
    result.created += sized.created;
    result.retired += sized.retired;
    result.pending ||= sized.pending;
  }
  if (deferred !== undefined) throw deferred;
  return result;
}
