import type { FilterPlugin, Rejection } from "../framework";

export const TOO_MANY_PODS = "Too many pods";
export const INSUFFICIENT_CPU = "Insufficient cpu";
export const INSUFFICIENT_MEMORY = "Insufficient memory";

/** Every combination of shortfalls, built once: bit 0 cpu, bit 1 memory, bit 2 pods. */
const REJECTIONS: readonly (Rejection | null)[] = [
  null,
  INSUFFICIENT_CPU,
  INSUFFICIENT_MEMORY,
  Object.freeze([INSUFFICIENT_CPU, INSUFFICIENT_MEMORY]),
  TOO_MANY_PODS,
  Object.freeze([TOO_MANY_PODS, INSUFFICIENT_CPU]),
  Object.freeze([TOO_MANY_PODS, INSUFFICIENT_MEMORY]),
  Object.freeze([TOO_MANY_PODS, INSUFFICIENT_CPU, INSUFFICIENT_MEMORY]),
];

/**
 * Rejects nodes where the pod's requests plus what is already committed would exceed allocatable
 * cpu, memory or pod count; every shortfall is reported, as kube-scheduler does. A node that is
 * already over-committed (its capacity shrank) takes nothing more, not even a zero request.
 */
export const nodeResourcesFit: FilterPlugin = {
  name: "NodeResourcesFit",
  podKey: (pod) => `${pod.requests.cpuMillis}/${pod.requests.memoryBytes}`,
  prepare(pod) {
    const { cpuMillis, memoryBytes } = pod.requests;
    return (info) => {
      const capacity = info.node.capacity;
      const mask =
        (info.requestedCpu + cpuMillis > capacity.cpuMillis ? 1 : 0) |
        (info.requestedMemory + memoryBytes > capacity.memoryBytes ? 2 : 0) |
        (info.podCount + 1 > capacity.pods ? 4 : 0);
      return mask === 0 ? null : (REJECTIONS[mask] ?? null);
    };
  },
};
