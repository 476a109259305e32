import { ClusterState } from "../src/cluster-state";
import type { FilterPlugin, Rejection, ScorePlugin } from "../src/framework";
import type { BoundPod, NodeState, PendingPod } from "../src/types";

export const GiB = 1024 ** 3;

export function node(id: string, overrides: Partial<NodeState> = {}): NodeState {
  return {
    id,
    name: id,
    ready: true,
    unschedulable: false,
    capacity: { cpuMillis: 4000, memoryBytes: 8 * GiB, pods: 10 },
    labels: {},
    taints: [],
    hostPortRange: { min: 30000, max: 30009 },
    ...overrides,
  };
}

export function pod(id: string, overrides: Partial<PendingPod> = {}): PendingPod {
  return {
    id,
    tenantId: "ten_a",
    namespace: "default",
    requests: { cpuMillis: 500, memoryBytes: 1 * GiB },
    hostPortCount: 0,
    priority: 0,
    createdSeq: 0,
    ...overrides,
  };
}

export function bound(id: string, nodeId: string, overrides: Partial<BoundPod> = {}): BoundPod {
  return {
    id,
    nodeId,
    requests: { cpuMillis: 500, memoryBytes: 1 * GiB },
    hostPorts: [],
    tenantId: "ten_a",
    namespace: "default",
    ...overrides,
  };
}

/**
 * A filter's verdict for `p` on node `n` (in a cluster that also holds `others`); "skipped" when
 * the plugin has nothing to say about this pod.
 */
export function verdict(
  plugin: FilterPlugin,
  p: PendingPod,
  n: NodeState,
  pods: BoundPod[] = [],
  others: NodeState[] = [],
): Rejection | null | "skipped" {
  const cluster = new ClusterState({ nodes: [n, ...others], pods });
  const check = plugin.prepare(p, cluster);
  const info = cluster.nodes.find((i) => i.node.id === n.id);
  if (check === null || info === undefined) return "skipped";
  return check(info);
}

/** A scorer's final (normalised) scores for `p` on each node, in canonical node order; null when skipped. */
export function scores(
  plugin: ScorePlugin,
  p: PendingPod,
  nodes: NodeState[],
  pods: BoundPod[] = [],
): number[] | null {
  const cluster = new ClusterState({ nodes, pods });
  const score = plugin.prepare(p, cluster);
  if (score === null) return null;
  const out = Int32Array.from(cluster.nodes, (info) => score(info));
  plugin.normalize?.(out, out.length);
  return [...out];
}
