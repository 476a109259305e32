import type { FilterPlugin, Rejection } from "../framework";
import type { Resources } from "../types";

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

/** kube's reason for an extended resource: `Insufficient berth.dev/gpu`. */
export function insufficient(resource: string): string {
  return `Insufficient ${resource}`;
}

/** The extended resources a pod asks for (non-zero amounts only), by name, sorted. */
function extendedRequests(requests: Resources): [string, number][] {
  const out: [string, number][] = [];
  for (const [name, amount] of Object.entries(requests.extended ?? {}))
    if (amount > 0) out.push([name, amount]);
  return out.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * Rejects nodes where the pod's requests plus what is already committed would exceed allocatable
 * cpu, memory, pod count or any extended resource the pod asks for (a node that does not
 * advertise one has none of it); every shortfall is reported, as kube-scheduler does. A node that
 * is already over-committed on cpu, memory or pods (its capacity shrank) takes nothing more, not
 * even a zero request.
 */
export const nodeResourcesFit: FilterPlugin = {
  name: "NodeResourcesFit",
  podKey: (pod) =>
    `${pod.requests.cpuMillis}/${pod.requests.memoryBytes}/${JSON.stringify(extendedRequests(pod.requests))}`,
  prepare(pod) {
    const { cpuMillis, memoryBytes } = pod.requests;
    const extended = extendedRequests(pod.requests);
    if (extended.length === 0) {
      // Every pod without extended resources: the check that runs for every node scanned.
      return (info) => {
        const mask =
          (info.requestedCpu + cpuMillis > info.allocatableCpu ? 1 : 0) |
          (info.requestedMemory + memoryBytes > info.allocatableMemory ? 2 : 0) |
          (info.podCount + 1 > info.allocatablePods ? 4 : 0);
        return mask === 0 ? null : (REJECTIONS[mask] ?? null);
      };
    }
    return (info) => {
      const mask =
        (info.requestedCpu + cpuMillis > info.allocatableCpu ? 1 : 0) |
        (info.requestedMemory + memoryBytes > info.allocatableMemory ? 2 : 0) |
        (info.podCount + 1 > info.allocatablePods ? 4 : 0);
      const short: string[] = [];
      for (const [name, amount] of extended) {
        const allocatable = info.node.capacity.extended?.[name] ?? 0;
        if ((info.requestedExtended.get(name) ?? 0) + amount > allocatable) short.push(insufficient(name));
      }
      if (short.length === 0) return mask === 0 ? null : (REJECTIONS[mask] ?? null);
      const base = REJECTIONS[mask] ?? null;
      if (base === null) return short.length === 1 ? (short[0] as string) : short;
      return [...(typeof base === "string" ? [base] : base), ...short];
    };
  },
};
