import type { NodeState, PendingPod, Taint, Toleration } from "../src/types";

/**
 * The rules restated from Kubernetes' documentation, independently of src/, so the property
 * tests check the scheduler against something it did not write itself.
 */

function tolerationMatches(t: Toleration, taint: Taint): boolean {
  const effectOk = !t.effect || t.effect === taint.effect;
  const keyOk = !t.key || t.key === taint.key;
  const valueOk = t.operator === "Exists" || (t.value ?? "") === (taint.value ?? "");
  return effectOk && keyOk && valueOk;
}

/** Ready, not cordoned, selector satisfied, every NoSchedule/NoExecute taint tolerated. */
export function allowedOn(pod: PendingPod, node: NodeState): boolean {
  if (!node.ready || node.unschedulable) return false;
  for (const [key, value] of Object.entries(pod.nodeSelector ?? {})) {
    if (!Object.hasOwn(node.labels, key) || node.labels[key] !== value) return false;
  }
  return node.taints.every(
    (taint) =>
      taint.effect === "PreferNoSchedule" || (pod.tolerations ?? []).some((t) => tolerationMatches(t, taint)),
  );
}

/** Whether `pod` would fit on `node` if nothing else ran there. */
export function fitsEmpty(pod: PendingPod, node: NodeState): boolean {
  const { min, max } = node.hostPortRange;
  const reserved = new Set((node.reservedHostPorts ?? []).filter((p) => p >= min && p <= max));
  const ports = Math.max(0, max - min + 1) - reserved.size;
  return (
    allowedOn(pod, node) &&
    pod.requests.cpuMillis <= node.capacity.cpuMillis &&
    pod.requests.memoryBytes <= node.capacity.memoryBytes &&
    node.capacity.pods >= 1 &&
    pod.hostPortCount <= ports
  );
}
