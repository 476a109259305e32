import type { FilterPlugin } from "../framework";
import { anyTermMatches } from "../labels";

/** kube's ErrReasonPod for the NodeAffinity plugin. */
export const NODE_AFFINITY_MISMATCH = "node(s) didn't match Pod's node affinity/selector";

/**
 * Rejects nodes that match none of the pod's required node selector terms
 * (`affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution`): terms are ORed, the
 * expressions and fields within a term ANDed; In, NotIn, Exists, DoesNotExist, Gt, Lt on labels,
 * and `metadata.name` in matchFields. `nodeSelector` is the NodeSelector plugin's.
 */
export const nodeAffinity: FilterPlugin = {
  name: "NodeAffinity",
  static: true,
  podKey: (pod) =>
    JSON.stringify(pod.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? null),
  prepare(pod) {
    const required = pod.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
    if (required === undefined) return null;
    const terms = required.nodeSelectorTerms;
    return (info) => (anyTermMatches(terms, info.node) ? null : NODE_AFFINITY_MISMATCH);
  },
};
