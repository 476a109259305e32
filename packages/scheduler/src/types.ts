/**
 * What the scheduler takes in and hands back. Everything is plain data: the caller reads a
 * snapshot from the database, calls `schedule`, and applies the plan in one transaction with an
 * optimistic check. Quantities are integers (millicores, bytes), never floats.
 */

export interface Resources {
  cpuMillis: number;
  memoryBytes: number;
  /**
   * Extended resources by name (`berth.dev/gpu`, `example.com/fpga`, …), as integer counts: on a
   * node its allocatable amount (absent means 0), on a pod its request (absent or 0 asks for
   * none). Kubernetes' extended resources: never over-committed, no fractional amounts.
   */
  extended?: Readonly<Record<string, number>>;
}

/** Kubernetes' LabelSelectorRequirement. */
export interface LabelSelectorRequirement {
  key: string;
  operator: "In" | "NotIn" | "Exists" | "DoesNotExist";
  /** Non-empty for In and NotIn, empty for Exists and DoesNotExist. */
  values?: string[];
}

/**
 * Kubernetes' LabelSelector: every matchLabels pair and every expression must hold. An empty
 * selector (`{}`) matches every pod; an absent one (where a field is optional) matches none.
 */
export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

/** Kubernetes' NodeSelectorRequirement. Gt and Lt take one integer and compare the label as one. */
export interface NodeSelectorRequirement {
  key: string;
  operator: "In" | "NotIn" | "Exists" | "DoesNotExist" | "Gt" | "Lt";
  values?: string[];
}

/**
 * One term of a node selector: all its expressions and fields must hold. A term with neither
 * matches no node. `matchFields` knows one field, `metadata.name` (the node's name), as in kube.
 */
export interface NodeSelectorTerm {
  matchExpressions?: NodeSelectorRequirement[];
  matchFields?: NodeSelectorRequirement[];
}

/** Terms are ORed: a node matches when any term matches. No terms matches no node. */
export interface NodeSelector {
  nodeSelectorTerms: NodeSelectorTerm[];
}

export interface PreferredSchedulingTerm {
  /** 1..100. */
  weight: number;
  preference: NodeSelectorTerm;
}

export interface NodeAffinity {
  requiredDuringSchedulingIgnoredDuringExecution?: NodeSelector;
  preferredDuringSchedulingIgnoredDuringExecution?: PreferredSchedulingTerm[];
}

/**
 * Kubernetes' PodAffinityTerm: the pods matched by `labelSelector` in the namespaces named by
 * `namespaces` and `namespaceSelector` (both absent or empty: the pod's own namespace; an empty
 * `namespaceSelector` `{}`: every namespace), counted per value of `topologyKey` on their nodes.
 * Only pods of the same tenant are ever matched: one tenant's pods cannot attract, repel or
 * observe another's.
 */
export interface PodAffinityTerm {
  labelSelector?: LabelSelector;
  namespaces?: string[];
  namespaceSelector?: LabelSelector;
  /** A node label: `kubernetes.io/hostname` (the node's name when the label is absent), `topology.kubernetes.io/zone`, any other. */
  topologyKey: string;
}

export interface WeightedPodAffinityTerm {
  /** 1..100. */
  weight: number;
  podAffinityTerm: PodAffinityTerm;
}

export interface PodAffinity {
  requiredDuringSchedulingIgnoredDuringExecution?: PodAffinityTerm[];
  preferredDuringSchedulingIgnoredDuringExecution?: WeightedPodAffinityTerm[];
}

export interface Affinity {
  nodeAffinity?: NodeAffinity;
  podAffinity?: PodAffinity;
  podAntiAffinity?: PodAffinity;
}

/** Kubernetes' TopologySpreadConstraint (matchLabelKeys is not supported). */
export interface TopologySpreadConstraint {
  /** ≥ 1. */
  maxSkew: number;
  topologyKey: string;
  whenUnsatisfiable: "DoNotSchedule" | "ScheduleAnyway";
  /** Absent matches no pod (so only the pod itself counts, when it matches). */
  labelSelector?: LabelSelector;
  /** With DoNotSchedule: while fewer domains than this exist, the global minimum counts as 0. */
  minDomains?: number;
  /** Honor (default): only nodes matching the pod's nodeSelector and required node affinity count. */
  nodeAffinityPolicy?: "Honor" | "Ignore";
  /** Ignore (default): taints do not matter; Honor: only nodes whose taints the pod tolerates count. */
  nodeTaintsPolicy?: "Honor" | "Ignore";
}

export type PreemptionPolicy = "PreemptLowerPriority" | "Never";

export type TaintEffect = "NoSchedule" | "NoExecute" | "PreferNoSchedule";

export interface Taint {
  key: string;
  value?: string;
  effect: TaintEffect;
}

export interface Toleration {
  key: string;
  /** "Equal" (the default) compares values; "Exists" matches any value, and with an empty key any taint. */
  operator?: "Equal" | "Exists";
  value?: string;
  /** Empty or absent matches every effect. */
  effect?: string;
}

export interface NodeState {
  id: string;
  name: string;
  ready: boolean;
  /** Cordoned nodes are unschedulable. */
  unschedulable: boolean;
  /** Allocatable capacity. */
  capacity: Resources & { pods: number };
  labels: Record<string, string>;
  taints: Taint[];
  /** Inclusive range of host ports handed to pods on this node. */
  hostPortRange: { min: number; max: number };
  /**
   * Ports of that range something other than the node's pods holds (the agent finds them in use):
   * never handed out. Absent means none.
   */
  reservedHostPorts?: readonly number[];
  /** Whether the node can attach persistent disks (a local-vm node): pods with claims go only there. */
  attachableDisks?: boolean;
}

/** A pod already placed on a node; it consumes that node's capacity and host ports. */
export interface BoundPod {
  id: string;
  nodeId: string;
  requests: Resources;
  hostPorts: number[];
  tenantId: string;
  namespace: string;
  ownerId?: string;
  labels?: Record<string, string>;
  /**
   * Its required anti-affinity keeps matching pods out of its domain; its other pod (anti-)affinity
   * terms score newcomers they select (kube's symmetric InterPodAffinity score). Node affinity is
   * ignored once bound.
   */
  affinity?: Affinity;
  /** Resolved priority (see `resolvePriority`); 0 when absent. Only lower-priority pods can be preempted. */
  priority?: number;
  /** Order in which pods started, lower first (kube's status.startTime); breaks preemption ties. */
  startedSeq?: number;
  /** Being deleted (kube's deletionTimestamp): still holds its resources; never chosen as a victim again. */
  terminating?: boolean;
}

export interface PendingPod {
  id: string;
  tenantId: string;
  namespace: string;
  /** The deployment the pod belongs to; pods of one owner are spread across nodes. */
  ownerId?: string;
  requests: Resources;
  /** How many host ports the pod needs (one per containerPort). */
  hostPortCount: number;
  /** Higher is scheduled first. */
  priority: number;
  nodeSelector?: Record<string, string>;
  tolerations?: Toleration[];
  /** FIFO tie-break within a tenant; the caller hands out a monotonic number. */
  createdSeq: number;
  labels?: Record<string, string>;
  affinity?: Affinity;
  topologySpreadConstraints?: TopologySpreadConstraint[];
  /** From the pod's PriorityClass (see `resolvePriority`); PreemptLowerPriority when absent. */
  preemptionPolicy?: PreemptionPolicy;
  /** Set by an earlier plan's preemption: that node is tried first (kube's nominatedNodeName). */
  nominatedNodeName?: string;
  /** The PersistentVolumeClaims the pod mounts, as the caller found them. */
  volumeClaims?: PodVolumeClaim[];
}

/** A PersistentVolumeClaim a pending pod mounts (ReadWriteOnce: its disk is on one node at a time). */
export interface PodVolumeClaim {
  name: string;
  /** Why the pod cannot use it now (not found, being deleted): the pod waits, on no node. */
  problem?: string;
  /** The node its disk is attached to, while that node is alive: the pod may go there only. */
  attachedNodeId?: string;
}

/** A namespace's labels, for `namespaceSelector` in pod affinity terms. */
export interface NamespaceState {
  tenantId: string;
  name: string;
  labels: Record<string, string>;
}

/**
 * A PodDisruptionBudget as preemption needs it. `disruptionsAllowed` is its status, as the
 * disruption controller computes it from minAvailable/maxUnavailable and the healthy pods
 * (`disruptionsAllowed` in this package does that arithmetic). Its selector matches pods of its
 * own tenant and namespace; an empty or absent selector matches none, as in kube-scheduler.
 */
export interface DisruptionBudget {
  tenantId: string;
  namespace: string;
  name: string;
  selector?: LabelSelector;
  disruptionsAllowed: number;
}

export interface Snapshot {
  nodes: NodeState[];
  pods: BoundPod[];
  /** Namespaces with labels; a namespace absent here has no labels. */
  namespaces?: NamespaceState[];
  /** Honoured by preemption: a plan never takes a budget below zero. */
  disruptionBudgets?: DisruptionBudget[];
}

export interface ScheduleRequest {
  pending: PendingPod[];
  /** Stop after this many placements; the pods not attempted come back in `Plan.deferred`. */
  maxPlacements?: number;
}

export interface Placement {
  podId: string;
  nodeId: string;
  /** The host ports the pod gets on that node, ascending, one per requested port. */
  hostPorts: number[];
}

export interface Unschedulable {
  podId: string;
  /** Kubernetes-style summary: "0/5 nodes are available: 3 Insufficient memory, 2 node(s) not ready." */
  reason: string;
  /** Filter reason → number of nodes rejected for it. One node may count under several reasons. */
  counts: Record<string, number>;
  /**
   * Set when the pod keeps its nomination: lower-priority pods on that node are still
   * terminating. Absent for a pod that had one: the caller clears it, as kube does.
   */
  nominatedNodeName?: string;
}

/**
 * A pod that fit nowhere, for which lower-priority pods on one node make room. The caller deletes
 * the victims and records `nominatedNodeName` on the pod; the pod is placed in a later plan, once
 * the victims are gone. Within this plan the node counts the pod as already there.
 */
export interface Preemption {
  podId: string;
  nominatedNodeName: string;
  /** Node id of that node. */
  nodeId: string;
  /** Bound pods to delete, most important first. */
  victims: string[];
  /** Why the pod fit nowhere as things were (as for `Unschedulable`). */
  reason: string;
}

export interface Plan {
  placements: Placement[];
  preemptions: Preemption[];
  unschedulable: Unschedulable[];
  /** Pending pods not attempted because `maxPlacements` was reached, in the order they would have gone. */
  deferred: string[];
}
