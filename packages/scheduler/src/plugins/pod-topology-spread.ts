import type { FilterPlugin } from "../framework";
import { prepareConstraints } from "./spread-constraints";

/** kube's ErrReasonConstraintsNotMatch. */
export const SPREAD_MISMATCH = "node(s) didn't match pod topology spread constraints";
/** kube's ErrReasonNodeLabelNotMatch: the node lacks a topology key, so it is in no domain. */
export const SPREAD_MISSING_LABEL = `${SPREAD_MISMATCH} (missing required label)`;

/**
 * kube's PodTopologySpread filter for the pod's `DoNotSchedule` constraints: the node must carry
 * every constraint's topology key, and for each constraint, placing the pod there must leave
 * (matching pods in the node's domain + 1 if the pod matches its own selector − the fewest
 * matching pods in any domain) ≤ maxSkew. While fewer domains than `minDomains` exist, the fewest
 * counts as 0. Its verdict depends on other nodes, so it has no `podKey`.
 */
export const podTopologySpread: FilterPlugin = {
  name: "PodTopologySpread",
  prepare(pod, cluster) {
    const hard = (pod.topologySpreadConstraints ?? []).filter((c) => c.whenUnsatisfiable === "DoNotSchedule");
    if (hard.length === 0) return null;
    const prepared = prepareConstraints(pod, hard, cluster, "filter");
    const limits = prepared.map(({ constraint, counter, selfMatch }) => {
      const minDomains = constraint.minDomains ?? 1;
      const min = counter.domains < minDomains ? 0 : counter.minimum;
      return constraint.maxSkew + min - selfMatch;
    });
    return (info) => {
      for (const { values } of prepared) if (values[info.index] === undefined) return SPREAD_MISSING_LABEL;
      for (let c = 0; c < prepared.length; c++) {
        const { values, counter } = prepared[c] as (typeof prepared)[number];
        const inDomain = counter.counts.get(values[info.index] as string) ?? 0;
        if (inDomain > (limits[c] as number)) return SPREAD_MISMATCH;
      }
      return null;
    };
  },
};
