import type { ClusterView, ExistingTerm, WeightedTerm } from "./framework";
import { topologyValue } from "./labels";
import { NodeAccount } from "./node-account";
import {
  type NamespaceLabels,
  namespaceLabels,
  type PodFacts,
  type ResolvedTerm,
  resolveTerm,
} from "./terms";
import { DomainCounter, type PodChange } from "./topology";
import type {
  BoundPod,
  NodeState,
  PendingPod,
  PodAffinityTerm,
  Resources,
  Snapshot,
  TaintEffect,
} from "./types";

/** kube's hardPodAffinityWeight default: what a pod's required affinity adds when scoring others. */
const HARD_POD_AFFINITY_WEIGHT = 1;

/** Nodes in canonical order: by name, then id, by code unit (never locale-dependent). */
export function canonicalNodeOrder(nodes: readonly NodeState[]): NodeState[] {
  return [...nodes].sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0,
  );
}

/** A pod the plan is built around: bound in the snapshot, or placed in this plan. */
export interface PodRecord extends PodFacts {
  readonly id: string;
  readonly node: number;
  readonly requests: Resources;
  /** Ports it holds on the node (bound pods); placed pods' ports are the node's to track. */
  readonly hostPorts: readonly number[];
  readonly priority: number;
  readonly startedSeq: number;
  readonly terminating: boolean;
  /** From the snapshot, so a candidate victim; placed pods never are. */
  readonly bound: boolean;
  /** Its required anti-affinity terms, resolved. */
  readonly antiTerms: readonly ResolvedTerm[];
  /**
   * The terms by which it scores pods that come later (kube's symmetric InterPodAffinity score):
   * preferred affinity +weight, preferred anti-affinity −weight, required affinity +1 (kube's
   * hardPodAffinityWeight).
   */
  readonly scoringTerms: readonly { readonly term: ResolvedTerm; readonly weight: number }[];
}

/** A node held for a pod that is not placed yet (see `ClusterState.nominate`). */
export interface Nomination {
  readonly node: number;
  readonly requests: Resources;
  readonly ports: number;
}

function ownerKey(tenantId: string, namespace: string, ownerId: string): string {
  return `${tenantId}\u0000${namespace}\u0000${ownerId}`;
}

/**
 * The in-memory copy of the snapshot the plan is built against: every placement is applied here
 * at once, so the next pod sees it and the plan cannot over-commit a node.
 */
export class ClusterState implements ClusterView {
  readonly nodes: readonly NodeAccount[];
  /** Node index of every change made on this copy (placement, or a pod taken away and back), in order. */
  readonly placementLog: number[] = [];
  /** Per node, how many changes it has seen: a score computed at one version holds until the next. */
  readonly versions: Int32Array;
  private readonly ownerBuffer: Int32Array;
  private readonly ownerBufferUsed: number[] = [];
  readonly namespaces: NamespaceLabels;
  /** Every pod counted or uncounted, in order, bound pods first: what `DomainCounter`s read. */
  private readonly changes: PodChange[] = [];
  private readonly accounts: NodeAccount[];
  private readonly byName = new Map<string, number>();
  private readonly owners = new Map<string, Map<number, number>>();
  private readonly effects = new Set<TaintEffect>();
  private readonly values = new Map<string, (string | undefined)[]>();
  private readonly counters = new Map<string, DomainCounter>();
  private readonly antiTerms = new Map<string, { term: ResolvedTerm; perDomain: Map<string, number> }>();
  private readonly scoringTerms = new Map<
    string,
    { term: ResolvedTerm; weight: number; perDomain: Map<string, number> }
  >();

  constructor(snapshot: Snapshot) {
    this.accounts = canonicalNodeOrder(snapshot.nodes).map((node, i) => new NodeAccount(i, node));
    this.nodes = this.accounts;
    this.versions = new Int32Array(this.accounts.length);
    this.ownerBuffer = new Int32Array(this.accounts.length);
    this.namespaces = namespaceLabels(snapshot.namespaces);
    const byId = new Map(this.accounts.map((a) => [a.node.id, a]));
    for (const account of this.accounts) {
      if (!this.byName.has(account.node.name)) this.byName.set(account.node.name, account.index);
      for (const taint of account.node.taints) this.effects.add(taint.effect);
    }
    for (const pod of snapshot.pods) {
      // A pod on a node that is gone from the snapshot consumes nothing the scheduler can see.
      const account = byId.get(pod.nodeId);
      if (!account) continue;
      const record = this.recordOf(pod, account.index);
      account.boundPods.push(record);
      for (const port of pod.hostPorts) account.holdPort(port);
      this.count(record, 1);
    }
  }

  hasTaintEffect(effect: TaintEffect): boolean {
    return this.effects.has(effect);
  }

  ownerPodsByNode(pod: PendingPod): Int32Array | undefined {
    // Clear what the last call wrote, then write this owner's few entries: O(replicas), not O(nodes).
    for (const index of this.ownerBufferUsed) this.ownerBuffer[index] = 0;
    this.ownerBufferUsed.length = 0;
    const perNode = this.ownerPods(pod);
    if (!perNode || perNode.size === 0) return undefined;
    for (const [index, count] of perNode) {
      this.ownerBuffer[index] = count;
      this.ownerBufferUsed.push(index);
    }
    return this.ownerBuffer;
  }

  ownerPods(pod: PendingPod): ReadonlyMap<number, number> | undefined {
    if (pod.ownerId === undefined) return undefined;
    return this.owners.get(ownerKey(pod.tenantId, pod.namespace, pod.ownerId));
  }

  domainValues(topologyKey: string): readonly (string | undefined)[] {
    let values = this.values.get(topologyKey);
    if (!values) {
      values = this.accounts.map((a) => topologyValue(a.node, topologyKey));
      this.values.set(topologyKey, values);
    }
    return values;
  }

  podsPerDomain(
    key: string,
    topologyKey: string,
    matches: (pod: PodFacts) => boolean,
    eligible?: () => Uint8Array,
  ): DomainCounter {
    let counter = this.counters.get(key);
    if (!counter) {
      counter = new DomainCounter(this.domainValues(topologyKey), matches, eligible ? eligible() : null);
      this.counters.set(key, counter);
    }
    return counter.catchUp(this.changes);
  }

  existingAntiAffinity(): Iterable<ExistingTerm> {
    return this.antiTerms.values();
  }

  existingScoringTerms(): Iterable<WeightedTerm> {
    return this.scoringTerms.values();
  }

  nodeId(index: number): string {
    return this.account(index).node.id;
  }

  /** The bound pods on the node at `index`, in snapshot order: preemption's candidate victims. */
  boundPodsOn(index: number): readonly PodRecord[] {
    return this.account(index).boundPods;
  }

  /** Index of the node with this name (the first in canonical order), or undefined. */
  nodeNamed(name: string): number | undefined {
    return this.byName.get(name);
  }

  /** Commits `pod` to the node at `index` and returns the host ports it gets there. */
  place(pod: PendingPod, index: number): number[] {
    const account = this.account(index);
    this.count(this.recordOf(pod, index), 1);
    return pod.hostPortCount > 0 ? account.takePorts(pod.hostPortCount) : [];
  }

  /**
   * Holds the node for a nominated pod: its requests and pod count count as if it ran, and its
   * ports are kept back without being handed out. Its labels and terms do not count: kube filters
   * with nominated pods and again without them, and the pod must pass both; resources only get
   * harder with more pods, but pod affinity and spread minimums may get easier, so those are
   * judged as if the nominated pod were not there.
   */
  nominate(pod: PendingPod, index: number): Nomination {
    const account = this.account(index);
    account.add(pod.requests, 1);
    account.freePorts -= pod.hostPortCount;
    this.changed(index);
    return { node: index, requests: pod.requests, ports: pod.hostPortCount };
  }

  /** Gives back what `nominate` held. */
  release(nomination: Nomination): void {
    const account = this.account(nomination.node);
    account.add(nomination.requests, -1);
    account.freePorts += nomination.ports;
    this.changed(nomination.node);
  }

  /** Takes a bound pod away (−1) or puts it back (+1): how preemption tries out victims. */
  toggle(record: PodRecord, sign: 1 | -1): void {
    const account = this.account(record.node);
    for (const port of record.hostPorts) {
      if (sign === 1) account.holdPort(port);
      else account.releasePort(port);
    }
    this.count(record, sign);
  }

  private count(record: PodRecord, sign: 1 | -1): void {
    this.account(record.node).add(record.requests, sign);
    this.changed(record.node);
    this.changes.push({ pod: record, node: record.node, delta: sign });
    const pod = record as PodRecord & { ownerId?: string };
    if (pod.ownerId !== undefined)
      this.countOwner(ownerKey(pod.tenantId, pod.namespace, pod.ownerId), record.node, sign);
    for (const term of record.antiTerms)
      countTerm(this.antiTerms, term.key, { term }, this.domainValues(term.topologyKey)[record.node], sign);
    for (const { term, weight } of record.scoringTerms) {
      const value = this.domainValues(term.topologyKey)[record.node];
      countTerm(this.scoringTerms, `${weight}\u0000${term.key}`, { term, weight }, value, sign);
    }
  }

  private recordOf(pod: BoundPod | PendingPod, node: number): PodRecord & { ownerId?: string } {
    const bound = "nodeId" in pod;
    const anti = pod.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? [];
    const resolve = (term: PodAffinityTerm) => resolveTerm(term, pod, this.namespaces);
    const scoringTerms =
      pod.affinity === undefined
        ? []
        : [
            ...(pod.affinity.podAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []).map((t) => ({
              term: resolve(t),
              weight: HARD_POD_AFFINITY_WEIGHT,
            })),
            ...(pod.affinity.podAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []).map((t) => ({
              term: resolve(t.podAffinityTerm),
              weight: t.weight,
            })),
            ...(pod.affinity.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []).map(
              (t) => ({
                term: resolve(t.podAffinityTerm),
                weight: -t.weight,
              }),
            ),
          ];
    return {
      id: pod.id,
      tenantId: pod.tenantId,
      namespace: pod.namespace,
      ...(pod.labels !== undefined ? { labels: pod.labels } : {}),
      ...(pod.ownerId !== undefined ? { ownerId: pod.ownerId } : {}),
      node,
      requests: pod.requests,
      hostPorts: bound ? pod.hostPorts : [],
      priority: pod.priority ?? 0,
      startedSeq: bound ? (pod.startedSeq ?? 0) : Number.POSITIVE_INFINITY,
      terminating: bound ? pod.terminating === true : false,
      bound,
      antiTerms: anti.map(resolve),
      scoringTerms,
    };
  }

  private changed(index: number): void {
    this.placementLog.push(index);
    this.versions[index] = (this.versions[index] as number) + 1;
  }

  private account(index: number): NodeAccount {
    const account = this.accounts[index];
    if (!account) throw new Error(`no node at index ${index}`);
    return account;
  }

  private countOwner(key: string, index: number, sign: 1 | -1): void {
    let perNode = this.owners.get(key);
    if (!perNode) {
      perNode = new Map();
      this.owners.set(key, perNode);
    }
    const left = (perNode.get(index) ?? 0) + sign;
    if (left > 0) perNode.set(index, left);
    else perNode.delete(index);
  }
}

/** Counts one more (or one fewer) pod carrying `entry`'s term in domain `value`. */
function countTerm<T extends object>(
  entries: Map<string, T & { perDomain: Map<string, number> }>,
  key: string,
  entry: T,
  value: string | undefined,
  sign: 1 | -1,
): void {
  if (value === undefined) return;
  let counted = entries.get(key);
  if (!counted) {
    counted = { ...entry, perDomain: new Map<string, number>() };
    entries.set(key, counted);
  }
  const left = (counted.perDomain.get(value) ?? 0) + sign;
  if (left > 0) counted.perDomain.set(value, left);
  else counted.perDomain.delete(value);
}
