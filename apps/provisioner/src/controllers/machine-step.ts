import { machines, recordEvent } from "@berth/db";
import { eq } from "drizzle-orm";
import { failureMessage, isPermanent } from "../failures";
import {
  failLaunch,
  launch,
  type MachineRow,
  markTerminated,
  nodeLeaves,
  retire,
  withMachine,
} from "../jobs/machines";
import { anyInstance, liveInstance, type MachineWorld } from "./machine-world";

/** What one machine's step did. */
export type MachineOutcome = "launched" | "failed" | "retired" | "terminated" | "waiting" | "none";

/**
 * A pending machine: launched (or adopted), unless nothing wants it any more. A launch the
 * provider refuses for good (`retryable: false`) ends the machine with the reason instead of
 * being tried again on every pass.
 */
async function stepPending(w: MachineWorld, m: MachineRow): Promise<MachineOutcome> {
  const pool = w.pools.find((x) => x.id === m.poolId);
  if (w.clusterGoing || !pool || pool.status !== "active") {
    await retire(w.deps, m, "no longer wanted", false);
    return "waiting";
  }
  try {
    await launch(w.deps, m, anyInstance(w, m) ?? null);
  } catch (error) {
    if (!isPermanent(error)) throw error;
    w.deps.logger.warn(
      { err: error, machineId: m.id, poolId: pool.id },
      "the provider refused a launch for good",
    );
    await failLaunch(w.deps, m, pool.name, failureMessage(error));
    return "failed";
  }
  return "launched";
}

/** Why a launching or running machine must be replaced, or null while it is healthy. */
function replacementReason(w: MachineWorld, m: MachineRow): string | null {
  const node = m.nodeId ? w.nodeById.get(m.nodeId) : undefined;
  const { machineJoinTimeoutMs, machineRepairTimeoutMs } = w.deps.timings;
  if (!liveInstance(w, m)) return "its instance stopped or disappeared";
  if (
    m.status === "launching" &&
    m.launchedAt &&
    w.now.getTime() - m.launchedAt.getTime() > machineJoinTimeoutMs
  )
    return `its node did not join within ${machineJoinTimeoutMs / 1000} s`;
  if (
    node?.status === "not_ready" &&
    w.now.getTime() - node.lastHeartbeatAt.getTime() > machineRepairTimeoutMs
  )
    return `its node has been not ready for over ${machineRepairTimeoutMs / 1000} s`;
  return null;
}

/** A launching or running machine: replaced when unhealthy, promoted to running once its node joined. */
async function stepUp(w: MachineWorld, m: MachineRow): Promise<MachineOutcome> {
  const reason = replacementReason(w, m);
  if (reason) {
    await retire(w.deps, m, reason, false);
    return "retired";
  }
  const node = m.nodeId ? w.nodeById.get(m.nodeId) : undefined;
  if (m.status !== "launching") return "none";
  if (!node) return "waiting";
  await withMachine(w.deps, m, ["launching"], async (tx, row) => {
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
  return "none";
}

/**
 * A terminating machine: its node drains (the cluster loop evicts its pods as their budgets
 * allow), then leaves, then the instance goes, then the row. The drain timeout bounds the first
 * two: past it the instance is terminated whatever its node still runs.
 */
async function stepTerminating(w: MachineWorld, m: MachineRow): Promise<MachineOutcome> {
  const node = m.nodeId ? w.nodeById.get(m.nodeId) : undefined;
  const inTime =
    m.terminateRequestedAt !== null &&
    w.now.getTime() - m.terminateRequestedAt.getTime() < w.deps.timings.drainTimeoutMs;
  const instance = anyInstance(w, m);
  if (node && inTime) {
    if (node.status === "leaving") return "waiting"; // the agent stops what is left and leaves
    const left = w.podsOnNode.get(node.id) ?? 0;
    if (left > 0) return "waiting"; // still draining
    await nodeLeaves(w.deps, m, node.id, `its node ${node.name} is drained`);
    return "waiting";
  }
  if (instance) {
    await instance.provider.terminate(instance.instanceId);
    w.deps.crashpoint("machines.after-terminate");
  } else {
    // Instances seen terminated that their provider keeps until told (a local VM's files) go now.
    for (const i of w.observed.get(m.id) ?? []) await i.provider.release?.(i.instanceId);
    await markTerminated(w.deps, m);
    return "terminated";
  }
  return "waiting";
}

/** Moves one machine one step along pending → launching → running → terminating → terminated. */
export function stepMachine(w: MachineWorld, m: MachineRow): Promise<MachineOutcome> {
  switch (m.status) {
    case "pending":
      return stepPending(w, m);
    case "launching":
    case "running":
      return stepUp(w, m);
    case "terminating":
      return stepTerminating(w, m);
    default:
      return Promise.resolve("none");
  }
}
