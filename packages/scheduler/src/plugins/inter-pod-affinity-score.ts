import type { ScorePlugin } from "../framework";
import { resolveTerm, termSelects } from "../terms";
import { termCounter } from "./inter-pod-affinity";
import { normalizeMinMax } from "./normalize";

/**
 * kube's InterPodAffinity score. Raw, per node: for each of the pod's preferred terms, its weight
 * times the pods it selects in the node's domain (added for affinity, subtracted for
 * anti-affinity); and, the other way round, for each term of a pod already there that selects
 * this pod, its weight times the pods carrying it in the node's domain (preferred affinity
 * +weight, preferred anti-affinity −weight, required affinity +1). Rescaled min-max to 0..100
 * over the candidates.
 */
export const interPodAffinityScore: ScorePlugin = {
  name: "InterPodAffinity",
  weight: 2,
  prepare(pod, cluster) {
    const terms = [
      ...(pod.affinity?.podAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []).map((t) => ({
        t,
        sign: 1,
      })),
      ...(pod.affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []).map((t) => ({
        t,
        sign: -1,
      })),
    ].filter(({ t }) => t.weight > 0);
    const theirs: {
      weight: number;
      values: readonly (string | undefined)[];
      perDomain: ReadonlyMap<string, number>;
    }[] = [];
    for (const { term, weight, perDomain } of cluster.existingScoringTerms()) {
      if (perDomain.size > 0 && termSelects(term, pod)) {
        theirs.push({ weight, values: cluster.domainValues(term.topologyKey), perDomain });
      }
    }
    if (terms.length === 0 && theirs.length === 0) return null;
    const mine = terms.map(({ t, sign }) => {
      const term = resolveTerm(t.podAffinityTerm, pod, cluster.namespaces);
      return {
        weight: sign * t.weight,
        values: cluster.domainValues(term.topologyKey),
        perDomain: termCounter(cluster, term, "anti").counts,
      };
    });
    const prepared = [...mine, ...theirs];
    return (info) => {
      let raw = 0;
      for (const { weight, values, perDomain } of prepared) {
        const value = values[info.index];
        if (value !== undefined) raw += weight * (perDomain.get(value) ?? 0);
      }
      return raw;
    };
  },
  normalize: normalizeMinMax,
};
