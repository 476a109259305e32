/**
 * What the scheduler takes in and hands back. Everything is plain data: the caller reads a
 * snapshot from the database, calls `schedule`, and applies the plan in one transaction with an
 * optimistic check. Quantities are integers (millicores, bytes), never floats.
 */

export interface Resources {
  cpuMillis: number;
  memoryBytes: number;
}

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
}

export interface Snapshot {
  nodes: NodeState[];
  pods: BoundPod[];
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
}

export interface Plan {
  placements: Placement[];
  unschedulable: Unschedulable[];
  /** Pending pods not attempted because `maxPlacements` was reached, in the order they would have gone. */
  deferred: string[];
}
