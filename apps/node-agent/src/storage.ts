import { CONTAINER_LABELS, formatBytes } from "@berth/protocol";
import type { ContainerRuntime } from "./runtime";
import type { PodSupervisor } from "./supervisor";

/**
 * Ephemeral storage, enforced as kubelet does: the engine measures each container's writable
 * layer, and a pod whose container wrote more than its `limits.ephemeralStorageBytes` is evicted
 * (stopped, reported `Evicted`; its controller replaces it). Overlay on ext4 has no hard size limit
 * (Podman's `--storage-opt size=` needs XFS project quotas), so this is the limit. Returns the pods
 * evicted.
 */
export async function enforceEphemeralStorage(
  runtime: ContainerRuntime,
  supervisor: PodSupervisor,
  nodeId: string,
): Promise<string[]> {
  const evicted: string[] = [];
  for (const usage of await runtime.diskUsage({ [CONTAINER_LABELS.node]: nodeId })) {
    const podId = usage.labels[CONTAINER_LABELS.pod] ?? "";
    const name = usage.labels[CONTAINER_LABELS.container];
    const a = supervisor.assignment(podId);
    const t = a?.action === "run" ? a.containers.find((c) => c.name === name) : undefined;
    // An instance kept from before a restart is not what the container writes to now.
    if (!t || usage.writableBytes <= t.limits.ephemeralStorageBytes || !supervisor.isCurrent(podId, usage.id))
      continue;
    supervisor.evict(
      podId,
      `ephemeral-storage usage ${formatBytes(usage.writableBytes)} exceeds the limit of ${formatBytes(t.limits.ephemeralStorageBytes)} (container ${JSON.stringify(t.name)})`,
    );
    evicted.push(podId);
  }
  return evicted;
}
