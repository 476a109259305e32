import { selectorKey, selectorMatches } from "./labels";
import type { LabelSelector, NamespaceState, PodAffinityTerm } from "./types";

/** What a pod affinity term or spread constraint needs to know of a pod to count it. */
export interface PodFacts {
  readonly tenantId: string;
  readonly namespace: string;
  readonly labels?: Readonly<Record<string, string>>;
  /** Being deleted: topology spread does not count it (kube skips pods with a deletionTimestamp). */
  readonly terminating?: boolean;
}

/**
 * A pod affinity term with its namespaces worked out for the pod that carries it. Matches only
 * pods of that pod's tenant.
 */
export interface ResolvedTerm {
  readonly tenantId: string;
  /** null: every namespace of the tenant. */
  readonly namespaces: ReadonlySet<string> | null;
  readonly selector: LabelSelector | undefined;
  readonly topologyKey: string;
  /** Equal keys, equal terms: names caches of per-domain counts. */
  readonly key: string;
}

/** Namespace labels per tenant, for namespaceSelector. */
export type NamespaceLabels = ReadonlyMap<string, ReadonlyMap<string, Readonly<Record<string, string>>>>;

export function namespaceLabels(namespaces: readonly NamespaceState[] | undefined): NamespaceLabels {
  const out = new Map<string, Map<string, Readonly<Record<string, string>>>>();
  for (const ns of namespaces ?? []) {
    let tenant = out.get(ns.tenantId);
    if (!tenant) {
      tenant = new Map();
      out.set(ns.tenantId, tenant);
    }
    tenant.set(ns.name, ns.labels);
  }
  return out;
}

/**
 * Kubernetes' rule: the union of `namespaces` and the namespaces `namespaceSelector` selects;
 * both absent or empty means the owner's own namespace; an empty selector selects all.
 */
export function resolveTerm(term: PodAffinityTerm, owner: PodFacts, labels: NamespaceLabels): ResolvedTerm {
  let namespaces: Set<string> | null;
  const selector = term.namespaceSelector;
  const isEmptySelector =
    selector !== undefined &&
    Object.keys(selector.matchLabels ?? {}).length === 0 &&
    (selector.matchExpressions ?? []).length === 0;
  if (isEmptySelector) {
    namespaces = null;
  } else {
    namespaces = new Set(term.namespaces ?? []);
    if (selector !== undefined) {
      for (const [name, nsLabels] of labels.get(owner.tenantId) ?? []) {
        if (selectorMatches(selector, nsLabels)) namespaces.add(name);
      }
    } else if (namespaces.size === 0) {
      namespaces.add(owner.namespace);
    }
  }
  const nsKey = namespaces === null ? "*" : JSON.stringify([...namespaces].sort());
  return {
    tenantId: owner.tenantId,
    namespaces,
    selector: term.labelSelector,
    topologyKey: term.topologyKey,
    key: `${owner.tenantId}\u0000${nsKey}\u0000${selectorKey(term.labelSelector)}\u0000${term.topologyKey}`,
  };
}

/** Whether `pod` is one of the pods `term` selects. An absent label selector selects none. */
export function termSelects(term: ResolvedTerm, pod: PodFacts): boolean {
  if (term.selector === undefined || pod.tenantId !== term.tenantId) return false;
  if (term.namespaces !== null && !term.namespaces.has(pod.namespace)) return false;
  return selectorMatches(term.selector, pod.labels ?? {});
}
