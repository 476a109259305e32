import type { NamespaceLabels, PodFacts, ResolvedTerm } from "./terms";
import type { DomainCounter } from "./topology";
import type { NodeState, PendingPod } from "./types";

/**
 * The plugin contract, after kube-scheduler's framework: a plugin is prepared once per pod
 * (PreFilter/PreScore) and hands back a small per-node function, or `null` when it has nothing to
 * say about this pod (no node selector, no host ports, no owner…), in which case the framework
 * skips it for every node.
 */

/** Why a filter turned a node down: one reason, or several that are each counted (cpu and memory). */
export type Rejection = string | readonly string[];

/** Per-node verdict of a prepared filter: `null` lets the node through. */
export type NodeFilter = (node: NodeInfo) => Rejection | null;

export interface FilterPlugin {
  readonly name: string;
  /**
   * The parts of the pod the verdict depends on, as a string (say, its node selector). Promises
   * that pods with equal keys get equal verdicts on a node, and that a node's verdict changes only
   * when that node's own state does (a pod is placed on it). Lets the framework reuse work across
   * replicas of one deployment. Omit it when the verdict looks at other nodes: the filter then
   * runs for every pod and node.
   */
  podKey?(pod: PendingPod): string;
  /**
   * With `podKey`: the verdict depends on the node's spec only, never on what is placed on it.
   * The framework runs static filters once per key over every node, ahead of the others.
   */
  readonly static?: boolean;
  prepare(pod: PendingPod, cluster: ClusterView): NodeFilter | null;
}

/** Per-node raw score of a prepared scorer. */
export type NodeScorer = (node: NodeInfo) => number;

export interface ScorePlugin {
  readonly name: string;
  /** Weight used unless `ScheduleOptions.weights` overrides it; a non-negative integer. */
  readonly weight: number;
  prepare(pod: PendingPod, cluster: ClusterView): NodeScorer | null;
  /**
   * The parts of the pod the raw score depends on, as a string. Like a filter's `podKey`, a
   * promise: pods with equal keys get equal raw scores on a node, and a node's raw score changes
   * only when that node's own state does. The framework then keeps raw scores per key and node,
   * and recomputes only for nodes that changed since. Omit it when the raw score looks at other
   * nodes.
   */
  podKey?(pod: PendingPod): string;
  /**
   * Optional: rewrite `scores[0..count)` in place once every candidate node has its raw score
   * (kube's NormalizeScore). After this step, or straight from the NodeScorer when absent, each score
   * must be an integer in 0..100, higher is better; the framework clamps anything else.
   */
  normalize?(scores: Int32Array, count: number): void;
}

/** What a plugin sees of a node: its spec plus what is already committed to it in this plan. */
export interface NodeInfo {
  /** Position in the canonical order (name, then id); also the deterministic tie-break. */
  readonly index: number;
  readonly node: NodeState;
  /** `node.capacity`'s cpu, memory and pods, copied here: the filters and scorers read them per node. */
  readonly allocatableCpu: number;
  readonly allocatableMemory: number;
  readonly allocatablePods: number;
  readonly requestedCpu: number;
  readonly requestedMemory: number;
  /** Extended resources committed so far, by name (absent: none). */
  readonly requestedExtended: ReadonlyMap<string, number>;
  readonly podCount: number;
  /**
   * Requests as counted for scoring: pods that request zero cpu or memory count as
   * `NON_ZERO_DEFAULTS` so best-effort pods still spread (kube's NonZeroRequested).
   */
  readonly nonZeroCpu: number;
  readonly nonZeroMemory: number;
  /** Host ports of the node's range not yet handed out (and not reserved). */
  readonly freePorts: number;
  /** Ports of the node's range reserved by something outside Berth (not counted in `freePorts`). */
  readonly reservedPorts: number;
}

/** What a plugin sees of the cluster while preparing for a pod. */
export interface ClusterView {
  readonly nodes: readonly NodeInfo[];
  /** True when some node carries a taint with this effect (lets taint plugins skip cheaply). */
  hasTaintEffect(effect: "NoSchedule" | "NoExecute" | "PreferNoSchedule"): boolean;
  /** Pods of this owner per node index (bound and placed so far), or undefined when there are none. */
  ownerPods(pod: PendingPod): ReadonlyMap<number, number> | undefined;
  /**
   * The same counts as an array by node index (0 where none), for reading in a per-node loop;
   * one shared buffer, valid until the next call. Undefined when the owner has no pods.
   */
  ownerPodsByNode(pod: PendingPod): Int32Array | undefined;
  /** Namespace labels per tenant, for namespaceSelector. */
  readonly namespaces: NamespaceLabels;
  /** Each node's value of a topology key, by node index (`kubernetes.io/hostname` defaults to the name). */
  domainValues(topologyKey: string): readonly (string | undefined)[];
  /**
   * Pods for which `matches` holds, per value of `topologyKey` on their nodes, bound and placed so
   * far; kept under `key` (equal keys must mean equal `matches` and `eligible`) and brought up to
   * date incrementally. See `DomainCounter` for `eligible`.
   */
  podsPerDomain(
    key: string,
    topologyKey: string,
    matches: (pod: PodFacts) => boolean,
    eligible?: () => Uint8Array,
  ): DomainCounter;
  /** The distinct required anti-affinity terms of pods already there, each with its pods per domain. */
  existingAntiAffinity(): Iterable<ExistingTerm>;
  /**
   * The distinct terms by which pods already there score newcomers (preferred affinity +weight,
   * preferred anti-affinity −weight, required affinity +1), each with its pods per domain.
   */
  existingScoringTerms(): Iterable<WeightedTerm>;
}

/** A required anti-affinity term some pods carry, and how many of them are in each domain. */
export interface ExistingTerm {
  readonly term: ResolvedTerm;
  readonly perDomain: ReadonlyMap<string, number>;
}

/** A term pods carry for scoring, with its signed weight. */
export interface WeightedTerm extends ExistingTerm {
  readonly weight: number;
}

export const NON_ZERO_DEFAULTS = { cpuMillis: 100, memoryBytes: 200 * 1024 * 1024 } as const;
