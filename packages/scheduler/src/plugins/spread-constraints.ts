import type { ClusterView, NodeInfo } from "../framework";
import { anyTermMatches, selectorKey, selectorMatches } from "../labels";
import type { PodFacts } from "../terms";
import type { DomainCounter } from "../topology";
import type { PendingPod, TopologySpreadConstraint } from "../types";
import { isTolerated } from "./tolerations";

/** What PodTopologySpread's filter and score share for one constraint of one pod. */
export interface PreparedConstraint {
  readonly constraint: TopologySpreadConstraint;
  /** The node's domain for this constraint, by node index. */
  readonly values: readonly (string | undefined)[];
  /** Pods matching the selector in the pod's tenant and namespace, per domain of eligible nodes. */
  readonly counter: DomainCounter;
  /** 1 when the pod matches its own selector (it will count once placed), else 0. */
  readonly selfMatch: number;
}

/** Whether a node matches the pod's nodeSelector and required node affinity; null: every node does. */
function nodeAffinityCheck(pod: PendingPod): ((info: NodeInfo) => boolean) | null {
  const selector = Object.entries(pod.nodeSelector ?? {});
  const required = pod.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  if (selector.length === 0 && required === undefined) return null;
  return (info) => {
    for (const [key, value] of selector) {
      if (!Object.hasOwn(info.node.labels, key) || info.node.labels[key] !== value) return false;
    }
    return required === undefined || anyTermMatches(required.nodeSelectorTerms, info.node);
  };
}

function toleratesHardTaints(pod: PendingPod, info: NodeInfo): boolean {
  for (const taint of info.node.taints) {
    if (taint.effect !== "PreferNoSchedule" && !isTolerated(pod.tolerations ?? [], taint)) return false;
  }
  return true;
}

/**
 * kube's PodTopologySpread PreFilter/PreScore state for `constraints`: a node's pods count when
 * the node carries every topology key of `constraints`, matches the pod's nodeSelector and
 * required node affinity (nodeAffinityPolicy Honor, the default) and, with nodeTaintsPolicy
 * Honor, has no taint the pod does not tolerate. Counted are the pods of the pod's tenant and
 * namespace that match the constraint's selector and are not being deleted.
 */
export function prepareConstraints(
  pod: PendingPod,
  constraints: readonly TopologySpreadConstraint[],
  cluster: ClusterView,
  phase: string,
): PreparedConstraint[] {
  const keys = [...new Set(constraints.map((c) => c.topologyKey))].sort();
  const nodeFacts = JSON.stringify([
    keys,
    Object.entries(pod.nodeSelector ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    pod.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? null,
  ]);
  return constraints.map((constraint) => {
    const honourAffinity = (constraint.nodeAffinityPolicy ?? "Honor") === "Honor";
    const honourTaints = constraint.nodeTaintsPolicy === "Honor";
    const selector = constraint.labelSelector;
    const eligible = () => {
      const keyValues = keys.map((key) => cluster.domainValues(key));
      const affinity = honourAffinity ? nodeAffinityCheck(pod) : null;
      const out = new Uint8Array(cluster.nodes.length);
      for (const info of cluster.nodes) {
        let ok = true;
        for (const values of keyValues) if (values[info.index] === undefined) ok = false;
        if (ok && affinity !== null && !affinity(info)) ok = false;
        if (ok && honourTaints && !toleratesHardTaints(pod, info)) ok = false;
        out[info.index] = ok ? 1 : 0;
      }
      return out;
    };
    const matches = (other: PodFacts) =>
      selector !== undefined &&
      other.terminating !== true &&
      other.tenantId === pod.tenantId &&
      other.namespace === pod.namespace &&
      selectorMatches(selector, other.labels ?? {});
    const key = [
      "spread",
      phase,
      pod.tenantId,
      pod.namespace,
      selectorKey(selector),
      constraint.topologyKey,
      honourAffinity ? nodeFacts : JSON.stringify(keys),
      honourTaints ? JSON.stringify(pod.tolerations ?? []) : "",
    ].join("\u0000");
    return {
      constraint,
      values: cluster.domainValues(constraint.topologyKey),
      counter: cluster.podsPerDomain(key, constraint.topologyKey, matches, eligible),
      selfMatch: selector !== undefined && selectorMatches(selector, pod.labels ?? {}) ? 1 : 0,
    };
  });
}
