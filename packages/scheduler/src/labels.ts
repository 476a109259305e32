import type { LabelSelector, NodeSelectorRequirement, NodeSelectorTerm, NodeState } from "./types";

/** The node label kubelet sets to the node's name; a node without it counts under its name. */
export const HOSTNAME_LABEL = "kubernetes.io/hostname";

type Labels = Readonly<Record<string, string>>;

function labelOf(labels: Labels, key: string): string | undefined {
  return Object.hasOwn(labels, key) ? labels[key] : undefined;
}

/** The node's value for a topology key: its label, or its name for `kubernetes.io/hostname`. */
export function topologyValue(node: NodeState, key: string): string | undefined {
  return labelOf(node.labels, key) ?? (key === HOSTNAME_LABEL ? node.name : undefined);
}

/** Kubernetes' LabelSelector semantics: every matchLabels pair and every expression must hold. */
export function selectorMatches(selector: LabelSelector, labels: Labels): boolean {
  const wanted = selector.matchLabels;
  if (wanted !== undefined) {
    for (const key in wanted) {
      if (Object.hasOwn(wanted, key) && labelOf(labels, key) !== wanted[key]) return false;
    }
  }
  const expressions = selector.matchExpressions;
  if (expressions === undefined) return true;
  for (const { key, operator, values = [] } of expressions) {
    const value = labelOf(labels, key);
    switch (operator) {
      case "In":
        if (value === undefined || !values.includes(value)) return false;
        break;
      case "NotIn":
        if (value !== undefined && values.includes(value)) return false;
        break;
      case "Exists":
        if (value === undefined) return false;
        break;
      case "DoesNotExist":
        if (value !== undefined) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

/** An integer label value for Gt/Lt, as kube parses it (base 10, optional sign), or undefined. */
function integer(text: string | undefined): bigint | undefined {
  return text !== undefined && /^[+-]?\d+$/.test(text) ? BigInt(text) : undefined;
}

function requirementHolds(req: NodeSelectorRequirement, value: string | undefined): boolean {
  const values = req.values ?? [];
  switch (req.operator) {
    case "In":
      return value !== undefined && values.includes(value);
    case "NotIn":
      return value === undefined || !values.includes(value);
    case "Exists":
      return value !== undefined;
    case "DoesNotExist":
      return value === undefined;
    case "Gt":
    case "Lt": {
      // Exactly one integer value, and a label that parses as one; anything else matches nothing.
      const bound = values.length === 1 ? integer(values[0]) : undefined;
      const actual = integer(value);
      if (bound === undefined || actual === undefined) return false;
      return req.operator === "Gt" ? actual > bound : actual < bound;
    }
    default:
      return false;
  }
}

/** One node selector term: every expression on the labels and every field (metadata.name) holds. */
export function termMatches(term: NodeSelectorTerm, node: NodeState): boolean {
  const expressions = term.matchExpressions ?? [];
  const fields = term.matchFields ?? [];
  if (expressions.length === 0 && fields.length === 0) return false;
  for (const req of expressions) if (!requirementHolds(req, labelOf(node.labels, req.key))) return false;
  for (const req of fields) {
    const value = req.key === "metadata.name" ? node.name : undefined;
    if (!requirementHolds(req, value)) return false;
  }
  return true;
}

/** The terms are ORed; no terms matches no node. */
export function anyTermMatches(terms: readonly NodeSelectorTerm[], node: NodeState): boolean {
  for (const term of terms) if (termMatches(term, node)) return true;
  return false;
}

/** A canonical string for a selector, so equal selectors share caches. */
export function selectorKey(selector: LabelSelector | undefined): string {
  if (selector === undefined) return "∅";
  const labels = Object.entries(selector.matchLabels ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify([labels, selector.matchExpressions ?? []]);
}
