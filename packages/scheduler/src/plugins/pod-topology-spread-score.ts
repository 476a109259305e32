import type { ScorePlugin } from "../framework";
import { intDiv } from "../int";
import { prepareConstraints } from "./spread-constraints";

/** Marks a node without every topology key: kube's ignored nodes, which score 0. */
const IGNORED = -1;

/**
 * kube's PodTopologySpread score for the pod's `ScheduleAnyway` constraints. Raw: for each
 * constraint, (matching pods in the node's domain) · log(domains + 2) + (maxSkew − 1), summed;
 * the log weight is kept in thousandths so the sum is an integer. Then fewer is better: the
 * candidate with the most scores lowest, as kube's 100 · (max + min − raw) / max; nodes missing a
 * topology key score 0.
 */
export const podTopologySpreadScore: ScorePlugin = {
  name: "PodTopologySpread",
  weight: 2,
  prepare(pod, cluster) {
    const soft = (pod.topologySpreadConstraints ?? []).filter(
      (c) => c.whenUnsatisfiable === "ScheduleAnyway",
    );
    if (soft.length === 0) return null;
    const prepared = prepareConstraints(pod, soft, cluster, "score").map((p) => ({
      ...p,
      weight: Math.round(1000 * Math.log(p.counter.domains + 2)),
      base: 1000 * (p.constraint.maxSkew - 1),
    }));
    return (info) => {
      let raw = 0;
      for (const { values, counter, weight, base } of prepared) {
        const value = values[info.index];
        if (value === undefined) return IGNORED;
        raw += (counter.counts.get(value) ?? 0) * weight + base;
      }
      return raw;
    };
  },
  normalize(scores, count) {
    let min = Number.POSITIVE_INFINITY;
    let max = 0;
    for (let i = 0; i < count; i++) {
      const s = scores[i] as number;
      if (s === IGNORED) continue;
      if (s < min) min = s;
      if (s > max) max = s;
    }
    for (let i = 0; i < count; i++) {
      const s = scores[i] as number;
      if (s === IGNORED) scores[i] = 0;
      else scores[i] = max === 0 ? 100 : intDiv(100 * (max + min - s), max);
    }
  },
};
