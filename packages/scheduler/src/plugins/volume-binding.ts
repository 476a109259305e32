import type { FilterPlugin } from "../framework";

export const NO_ATTACHABLE_DISKS = "node(s) cannot attach persistent disks (only local-vm nodes can)";
export const VOLUME_NODE_CONFLICT =
  "node(s) had volume node affinity conflict (a ReadWriteOnce claim's disk is attached to another node)";

/**
 * Pods that mount PersistentVolumeClaims (kube's VolumeBinding and VolumeRestrictions): a claim the
 * pod cannot use (not found, being deleted) keeps it off every node; otherwise only nodes that can
 * attach disks qualify, and a claim whose disk is attached to a live node pins the pod to that node
 * (ReadWriteOnce: one node at a time).
 */
export const volumeBinding: FilterPlugin = {
  name: "VolumeBinding",
  static: true,
  podKey: (pod) => JSON.stringify(pod.volumeClaims ?? []),
  prepare(pod) {
    const claims = pod.volumeClaims ?? [];
    if (claims.length === 0) return null;
    const problem = claims.find((c) => c.problem !== undefined)?.problem;
    const pinned = claims.flatMap((c) => (c.attachedNodeId ? [c.attachedNodeId] : []));
    return (info) => {
      if (problem !== undefined) return problem;
      if (!info.node.attachableDisks) return NO_ATTACHABLE_DISKS;
      if (pinned.some((id) => id !== info.node.id)) return VOLUME_NODE_CONFLICT;
      return null;
    };
  },
};
