import type {
  Affinity,
  LabelSelector,
  NamespaceState,
  NodeSelectorRequirement,
  NodeSelectorTerm,
  NodeState,
  PendingPod,
  PodAffinityTerm,
} from "../src/types";

/**
 * Kubernetes' required scheduling constraints restated from its documentation, apart from src/:
 * given the pods already on the nodes, may `pod` go to `node`? Returns the broken rules.
 */

export interface PlacedPod {
  tenantId: string;
  namespace: string;
  labels: Record<string, string>;
  nodeId: string;
  terminating: boolean;
  affinity?: Affinity;
}

const has = (labels: Record<string, string>, key: string) => Object.hasOwn(labels, key);

function selects(sel: LabelSelector, labels: Record<string, string>): boolean {
  const okLabels = Object.entries(sel.matchLabels ?? {}).every(([k, v]) => has(labels, k) && labels[k] === v);
  const okExpr = (sel.matchExpressions ?? []).every((e) => {
    const present = has(labels, e.key);
    const inValues = present && (e.values ?? []).includes(labels[e.key] as string);
    return e.operator === "In"
      ? inValues
      : e.operator === "NotIn"
        ? !inValues
        : e.operator === "Exists"
          ? present
          : !present;
  });
  return okLabels && okExpr;
}

function requirement(r: NodeSelectorRequirement, value: string | undefined): boolean {
  const vs = r.values ?? [];
  if (r.operator === "In") return value !== undefined && vs.includes(value);
  if (r.operator === "NotIn") return value === undefined || !vs.includes(value);
  if (r.operator === "Exists") return value !== undefined;
  if (r.operator === "DoesNotExist") return value === undefined;
  if (value === undefined || vs.length !== 1 || !/^-?\d+$/.test(value) || !/^-?\d+$/.test(vs[0] as string))
    return false;
  return r.operator === "Gt" ? Number(value) > Number(vs[0]) : Number(value) < Number(vs[0]);
}

function nodeTerm(t: NodeSelectorTerm, node: NodeState): boolean {
  const exprs = t.matchExpressions ?? [];
  const fields = t.matchFields ?? [];
  if (exprs.length + fields.length === 0) return false;
  return (
    exprs.every((r) => requirement(r, has(node.labels, r.key) ? node.labels[r.key] : undefined)) &&
    fields.every((r) => requirement(r, r.key === "metadata.name" ? node.name : undefined))
  );
}

export function topo(node: NodeState, key: string): string | undefined {
  if (has(node.labels, key)) return node.labels[key];
  return key === "kubernetes.io/hostname" ? node.name : undefined;
}

function nodeAffinityOk(pod: PendingPod, node: NodeState): boolean {
  const selectorOk = Object.entries(pod.nodeSelector ?? {}).every(
    ([k, v]) => has(node.labels, k) && node.labels[k] === v,
  );
  const required = pod.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  return selectorOk && (required === undefined || required.nodeSelectorTerms.some((t) => nodeTerm(t, node)));
}

/** Does `term`, written on a pod of (tenant, namespace), select `other`? */
function termSelects(
  term: PodAffinityTerm,
  owner: { tenantId: string; namespace: string },
  other: { tenantId: string; namespace: string; labels: Record<string, string> },
  namespaces: readonly NamespaceState[],
): boolean {
  if (other.tenantId !== owner.tenantId || term.labelSelector === undefined) return false;
  const nsSel = term.namespaceSelector;
  const allNs =
    nsSel !== undefined &&
    Object.keys(nsSel.matchLabels ?? {}).length === 0 &&
    (nsSel.matchExpressions ?? []).length === 0;
  if (!allNs) {
    const names = new Set(term.namespaces ?? []);
    if (nsSel !== undefined) {
      for (const ns of namespaces)
        if (ns.tenantId === owner.tenantId && selects(nsSel, ns.labels)) names.add(ns.name);
    } else if (names.size === 0) names.add(owner.namespace);
    if (!names.has(other.namespace)) return false;
  }
  return selects(term.labelSelector, other.labels);
}

export function brokenRules(
  pod: PendingPod,
  node: NodeState,
  nodes: readonly NodeState[],
  placed: readonly PlacedPod[],
  namespaces: readonly NamespaceState[],
): string[] {
  const broken: string[] = [];
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const me = { tenantId: pod.tenantId, namespace: pod.namespace, labels: pod.labels ?? {} };
  if (!nodeAffinityOk(pod, node)) broken.push("node affinity");

  // Topology spread, DoNotSchedule.
  const hard = (pod.topologySpreadConstraints ?? []).filter((c) => c.whenUnsatisfiable === "DoNotSchedule");
  for (const c of hard) {
    const eligible = nodes.filter(
      (n) =>
        hard.every((h) => topo(n, h.topologyKey) !== undefined) &&
        ((c.nodeAffinityPolicy ?? "Honor") === "Ignore" || nodeAffinityOk(pod, n)),
    );
    const domain = topo(node, c.topologyKey);
    if (domain === undefined) {
      broken.push("spread: missing key");
      continue;
    }
    const counts = new Map<string, number>();
    for (const n of eligible) counts.set(topo(n, c.topologyKey) as string, 0);
    for (const p of placed) {
      const n = byId.get(p.nodeId);
      if (!n || !eligible.includes(n) || p.terminating) continue;
      if (p.tenantId !== pod.tenantId || p.namespace !== pod.namespace) continue;
      if (c.labelSelector === undefined || !selects(c.labelSelector, p.labels)) continue;
      const d = topo(n, c.topologyKey) as string;
      counts.set(d, (counts.get(d) ?? 0) + 1);
    }
    const min = counts.size < (c.minDomains ?? 1) || counts.size === 0 ? 0 : Math.min(...counts.values());
    const self = c.labelSelector !== undefined && selects(c.labelSelector, me.labels) ? 1 : 0;
    if ((counts.get(domain) ?? 0) + self - min > c.maxSkew) broken.push("spread: skew");
  }

  const sameDomain = (p: PlacedPod, key: string) => {
    const n = byId.get(p.nodeId);
    const mine = topo(node, key);
    return n !== undefined && mine !== undefined && topo(n, key) === mine;
  };

  // Anti-affinity of the pods already there.
  for (const p of placed) {
    for (const t of p.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []) {
      if (termSelects(t, p, me, namespaces) && sameDomain(p, t.topologyKey))
        broken.push("existing anti-affinity");
    }
  }
  // Required affinity: every term has a pod matching all terms in the node's domain; or nothing
  // anywhere matches and the pod matches its own terms.
  const terms = pod.affinity?.podAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? [];
  if (terms.length > 0) {
    const matchesAll = (p: { tenantId: string; namespace: string; labels: Record<string, string> }) =>
      terms.every((t) => termSelects(t, me, p, namespaces));
    const anywhere = placed.some((p) => {
      const n = byId.get(p.nodeId);
      return matchesAll(p) && n !== undefined && terms.some((t) => topo(n, t.topologyKey) !== undefined);
    });
    const ok = terms.every(
      (t) =>
        topo(node, t.topologyKey) !== undefined &&
        ((!anywhere && matchesAll(me)) || placed.some((p) => matchesAll(p) && sameDomain(p, t.topologyKey))),
    );
    if (!ok) broken.push("pod affinity");
  }
  for (const t of pod.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []) {
    if (placed.some((p) => termSelects(t, me, p, namespaces) && sameDomain(p, t.topologyKey)))
      broken.push("anti-affinity");
  }
  return broken;
}
