import type { ScorePlugin } from "../framework";
import { reverseNormalize } from "./normalize";
import { isTolerated } from "./tolerations";

/**
 * Prefers nodes with fewer PreferNoSchedule taints the pod does not tolerate (kube's
 * TaintToleration score). Skipped when no node has such a taint.
 */
export const taintPreferNoSchedule: ScorePlugin = {
  name: "TaintPreferNoSchedule",
  weight: 3,
  podKey: (pod) => JSON.stringify(pod.tolerations ?? []),
  prepare(pod, cluster) {
    if (!cluster.hasTaintEffect("PreferNoSchedule")) return null;
    const tolerations = pod.tolerations ?? [];
    return (info) => {
      let untolerated = 0;
      for (const taint of info.node.taints) {
        if (taint.effect === "PreferNoSchedule" && !isTolerated(tolerations, taint)) untolerated += 1;
      }
      return untolerated;
    };
  },
  normalize: reverseNormalize,
};
