import type { ScorePlugin } from "../framework";
import { termMatches } from "../labels";
import { normalizeToMax } from "./normalize";

/**
 * kube's NodeAffinity score: the sum of the weights of the pod's preferred node selector terms
 * the node matches, scaled so the best candidate scores 100. Skipped without preferred terms.
 */
export const nodeAffinityScore: ScorePlugin = {
  name: "NodeAffinity",
  weight: 2,
  podKey: (pod) =>
    JSON.stringify(pod.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []),
  prepare(pod) {
    const preferred = pod.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? [];
    const terms = preferred.filter((t) => t.weight > 0);
    if (terms.length === 0) return null;
    return (info) => {
      let sum = 0;
      for (const { weight, preference } of terms) if (termMatches(preference, info.node)) sum += weight;
      return sum;
    };
  },
  normalize: normalizeToMax,
};
