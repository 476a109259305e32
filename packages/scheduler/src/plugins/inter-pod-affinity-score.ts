import type { ScorePlugin } from "../framework";
import { resolveTerm } from "../terms";
import { termCounter } from "./inter-pod-affinity";
import { normalizeMinMax } from "./normalize";

/**
 * kube's InterPodAffinity score for the pod's own preferred terms: for each term, its weight
 * times the pods it selects in the node's domain, added for affinity and subtracted for
 * anti-affinity; rescaled min-max to 0..100 over the candidates. (kube also scores the preferred
 * terms of pods already placed that select this pod; this plugin does not yet.)
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
    if (terms.length === 0) return null;
    const prepared = terms.map(({ t, sign }) => {
      const term = resolveTerm(t.podAffinityTerm, pod, cluster.namespaces);
      return {
        weight: sign * t.weight,
        values: cluster.domainValues(term.topologyKey),
        perDomain: termCounter(cluster, term, "anti").counts,
      };
    });
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
