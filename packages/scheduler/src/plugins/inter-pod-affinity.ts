import type { ClusterView, FilterPlugin } from "../framework";
import { type ResolvedTerm, resolveTerm, termSelects } from "../terms";
import type { DomainCounter } from "../topology";
import type { PendingPod, PodAffinityTerm } from "../types";

/** kube's ErrReasonExistingAntiAffinityRulesNotMatch. */
export const EXISTING_ANTI_AFFINITY = "node(s) didn't satisfy existing pods anti-affinity rules";
/** kube's ErrReasonAffinityRulesNotMatch. */
export const AFFINITY_MISMATCH = "node(s) didn't match pod affinity rules";
/** kube's ErrReasonAntiAffinityRulesNotMatch. */
export const ANTI_AFFINITY_MISMATCH = "node(s) didn't match pod anti-affinity rules";

interface Guard {
  readonly values: readonly (string | undefined)[];
  readonly perDomain: ReadonlyMap<string, number>;
}

/** The incoming pod's terms, resolved against its own namespace and tenant. */
export function resolvedTerms(
  pod: PendingPod,
  terms: readonly PodAffinityTerm[] | undefined,
  cluster: ClusterView,
): ResolvedTerm[] {
  return (terms ?? []).map((term) => resolveTerm(term, pod, cluster.namespaces));
}

/** Pods the term selects, per domain of its topology key. */
export function termCounter(cluster: ClusterView, term: ResolvedTerm, prefix: string): DomainCounter {
  return cluster.podsPerDomain(`${prefix}\u0000${term.key}`, term.topologyKey, (other) =>
    termSelects(term, other),
  );
}

/**
 * kube's InterPodAffinity filter, three checks in kube's order:
 * 1. no pod already in the node's domain has a required anti-affinity term selecting this pod;
 * 2. for every required affinity term, the node has the term's topology key and its domain
 *    holds a pod matching all the terms (or, when no pod anywhere matches them, the pod matches
 *    its own terms: the first pod of a group may go anywhere that has the keys);
 * 3. for every required anti-affinity term, the node's domain (when it has the key) holds no pod
 *    the term selects.
 * Terms select only pods of the pod's own tenant. Its verdict depends on other nodes: no `podKey`.
 */
export const interPodAffinity: FilterPlugin = {
  name: "InterPodAffinity",
  prepare(pod, cluster) {
    const guards: Guard[] = [];
    for (const { term, perDomain } of cluster.existingAntiAffinity()) {
      if (perDomain.size > 0 && termSelects(term, pod)) {
        guards.push({ values: cluster.domainValues(term.topologyKey), perDomain });
      }
    }
    const affinity = resolvedTerms(
      pod,
      pod.affinity?.podAffinity?.requiredDuringSchedulingIgnoredDuringExecution,
      cluster,
    );
    const anti = resolvedTerms(
      pod,
      pod.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution,
      cluster,
    ).map((term) => ({
      values: cluster.domainValues(term.topologyKey),
      perDomain: termCounter(cluster, term, "anti").counts,
    }));
    if (guards.length === 0 && affinity.length === 0 && anti.length === 0) return null;

    // A pod counts towards affinity when it matches every term (kube's affinityCounts).
    const allKey = affinity.map((t) => t.key).join("\u0001");
    const wanted = affinity.map((term) => ({
      values: cluster.domainValues(term.topologyKey),
      perDomain: cluster.podsPerDomain(
        `affinity\u0000${allKey}\u0000${term.topologyKey}`,
        term.topologyKey,
        (other) => affinity.every((t) => termSelects(t, other)),
      ).counts,
    }));
    let anyMatch = false;
    for (const { perDomain } of wanted) for (const n of perDomain.values()) if (n > 0) anyMatch = true;
    const selfMatch = affinity.every((t) => termSelects(t, pod));
    const firstOfGroup = !anyMatch && selfMatch;

    return (info) => {
      for (const { values, perDomain } of guards) {
        const value = values[info.index];
        if (value !== undefined && (perDomain.get(value) ?? 0) > 0) return EXISTING_ANTI_AFFINITY;
      }
      for (const { values, perDomain } of wanted) {
        const value = values[info.index];
        if (value === undefined) return AFFINITY_MISMATCH;
        if (!firstOfGroup && (perDomain.get(value) ?? 0) <= 0) return AFFINITY_MISMATCH;
      }
      for (const { values, perDomain } of anti) {
        const value = values[info.index];
        if (value !== undefined && (perDomain.get(value) ?? 0) > 0) return ANTI_AFFINITY_MISMATCH;
      }
      return null;
    };
  },
};
