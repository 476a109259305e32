import type { ScorePlugin } from "../framework";
import { reverseNormalize } from "./normalize";

/**
 * Prefers nodes running fewer pods of the same owner (deployment), so one node going away takes
 * as few replicas as possible with it. Raw score is the count; normalised so the busiest
 * candidate scores 0 and an owner-free node 100. Skipped for pods without an owner, or whose
 * owner has no pods anywhere yet (every node would tie).
 */
export const spreadOwner: ScorePlugin = {
  name: "SpreadOwner",
  weight: 2,
  prepare(pod, cluster) {
    const perNode = cluster.ownerPodsByNode(pod);
    if (!perNode) return null;
    return (info) => perNode[info.index] as number;
  },
  normalize: reverseNormalize,
};
