import type { PodRecord } from "./cluster-state";
import { NON_ZERO_DEFAULTS, type NodeInfo } from "./framework";
import type { NodeState, Resources } from "./types";

/** What one node holds while a plan is built: requests, pod count, host ports, bound pods. */
export class NodeAccount implements NodeInfo {
  readonly allocatableCpu: number;
  readonly allocatableMemory: number;
  readonly allocatablePods: number;
  requestedCpu = 0;
  requestedMemory = 0;
  readonly requestedExtended = new Map<string, number>();
  podCount = 0;
  nonZeroCpu = 0;
  nonZeroMemory = 0;
  freePorts: number;
  reservedPorts = 0;
  /** Bound pods on this node, in snapshot order (the candidate victims of preemption). */
  readonly boundPods: PodRecord[] = [];
  private readonly usedPorts = new Set<number>();
  /** Every port in [hostPortRange.min, nextPort) is taken: allocation only ever moves up. */
  private nextPort: number;

  constructor(
    readonly index: number,
    readonly node: NodeState,
  ) {
    this.allocatableCpu = node.capacity.cpuMillis;
    this.allocatableMemory = node.capacity.memoryBytes;
    this.allocatablePods = node.capacity.pods;
    const { min, max } = node.hostPortRange;
    this.freePorts = max >= min ? max - min + 1 : 0;
    this.nextPort = min;
    for (const port of node.reservedHostPorts ?? []) if (this.holdPort(port)) this.reservedPorts += 1;
  }

  /** Adds (sign 1) or takes away (sign −1) one pod's requests. */
  add(requests: Resources, sign: 1 | -1 = 1): void {
    this.requestedCpu += sign * requests.cpuMillis;
    this.requestedMemory += sign * requests.memoryBytes;
    this.nonZeroCpu += sign * (requests.cpuMillis || NON_ZERO_DEFAULTS.cpuMillis);
    this.nonZeroMemory += sign * (requests.memoryBytes || NON_ZERO_DEFAULTS.memoryBytes);
    this.podCount += sign;
    if (requests.extended === undefined) return;
    for (const name in requests.extended) {
      const amount = requests.extended[name] ?? 0;
      if (amount !== 0)
        this.requestedExtended.set(name, (this.requestedExtended.get(name) ?? 0) + sign * amount);
    }
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

  /** Undoes `holdPort` (a bound pod taken away while preemption tries what removing it gives). */
  releasePort(port: number): void {
    if (this.usedPorts.delete(port)) this.freePorts += 1;
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
