import { type ClusterView, NON_ZERO_DEFAULTS, type NodeInfo } from "./framework";
import type { NodeState, PendingPod, Resources, Snapshot, TaintEffect } from "./types";

/** Nodes in canonical order: by name, then id, by code unit (never locale-dependent). */
export function canonicalNodeOrder(nodes: readonly NodeState[]): NodeState[] {
  return [...nodes].sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0,
  );
}

class NodeAccount implements NodeInfo {
  requestedCpu = 0;
  requestedMemory = 0;
  podCount = 0;
  nonZeroCpu = 0;
  nonZeroMemory = 0;
  freePorts: number;
  reservedPorts = 0;
  private readonly usedPorts = new Set<number>();
  /** Every port in [hostPortRange.min, nextPort) is taken: allocation only ever moves up. */
  private nextPort: number;

  constructor(
    readonly index: number,
    readonly node: NodeState,
  ) {
    const { min, max } = node.hostPortRange;
    this.freePorts = max >= min ? max - min + 1 : 0;
    this.nextPort = min;
    for (const port of node.reservedHostPorts ?? []) if (this.holdPort(port)) this.reservedPorts += 1;
  }

  add(requests: Resources): void {
    this.requestedCpu += requests.cpuMillis;
    this.requestedMemory += requests.memoryBytes;
    this.nonZeroCpu += requests.cpuMillis || NON_ZERO_DEFAULTS.cpuMillis;
    this.nonZeroMemory += requests.memoryBytes || NON_ZERO_DEFAULTS.memoryBytes;
    this.podCount += 1;
  }

  /**
   * Records a port held by an already-bound pod or reserved on the node; ports outside the range do
   * not count against it. True when the port was free until now.
   */
  holdPort(port: number): boolean {
    const { min, max } = this.node.hostPortRange;
    if (port < min || port > max || this.usedPorts.has(port)) return false;
    this.usedPorts.add(port);
    this.freePorts -= 1;
    return true;
  }

  /** The `count` lowest free ports of the range. The HostPorts filter has checked there are enough. */
  takePorts(count: number): number[] {
    if (count > this.freePorts) {
      throw new Error(`node ${this.node.id} has ${this.freePorts} free ports, not ${count}`);
    }
    const taken: number[] = [];
    let port = this.nextPort;
    // Ports handed out here stay below `nextPort`, which never moves down: only ports held by
    // bound pods need looking up.
    while (taken.length < count) {
      if (!this.usedPorts.has(port)) taken.push(port);
      port += 1;
    }
    this.nextPort = port;
    this.freePorts -= count;
    return taken;
  }
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
  /** Node index of every placement made on this copy, in order. */
  readonly placementLog: number[] = [];
  private readonly accounts: NodeAccount[];
  private readonly owners = new Map<string, Map<number, number>>();
  private readonly effects = new Set<TaintEffect>();

  constructor(snapshot: Snapshot) {
    this.accounts = canonicalNodeOrder(snapshot.nodes).map((node, i) => new NodeAccount(i, node));
    this.nodes = this.accounts;
    const byId = new Map(this.accounts.map((a) => [a.node.id, a]));
    for (const account of this.accounts) {
      for (const taint of account.node.taints) this.effects.add(taint.effect);
    }
    for (const pod of snapshot.pods) {
      // A pod on a node that is gone from the snapshot consumes nothing the scheduler can see.
      const account = byId.get(pod.nodeId);
      if (!account) continue;
      account.add(pod.requests);
      for (const port of pod.hostPorts) account.holdPort(port);
      if (pod.ownerId !== undefined) {
        this.countOwner(ownerKey(pod.tenantId, pod.namespace, pod.ownerId), account.index);
      }
    }
  }

  hasTaintEffect(effect: TaintEffect): boolean {
    return this.effects.has(effect);
  }

  ownerPods(pod: PendingPod): ReadonlyMap<number, number> | undefined {
    if (pod.ownerId === undefined) return undefined;
    return this.owners.get(ownerKey(pod.tenantId, pod.namespace, pod.ownerId));
  }

  nodeId(index: number): string {
    const account = this.accounts[index];
    if (!account) throw new Error(`no node at index ${index}`);
    return account.node.id;
  }

  /** Commits `pod` to the node at `index` and returns the host ports it gets there. */
  place(pod: PendingPod, index: number): number[] {
    const account = this.accounts[index];
    if (!account) throw new Error(`no node at index ${index}`);
    account.add(pod.requests);
    this.placementLog.push(index);
    if (pod.ownerId !== undefined) this.countOwner(ownerKey(pod.tenantId, pod.namespace, pod.ownerId), index);
    return pod.hostPortCount > 0 ? account.takePorts(pod.hostPortCount) : [];
  }

  private countOwner(key: string, index: number): void {
    let perNode = this.owners.get(key);
    if (!perNode) {
      perNode = new Map();
      this.owners.set(key, perNode);
    }
    perNode.set(index, (perNode.get(index) ?? 0) + 1);
  }
}
