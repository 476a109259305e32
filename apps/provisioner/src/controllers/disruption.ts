import type { NodeRow } from "./loop";

/** The label that places a node in a zone (Kubernetes' well-known topology label). */
export const ZONE_LABEL = "topology.kubernetes.io/zone";

/**
 * A zone with more than two nodes not ready, and at least this share of its nodes, is partially
 * disrupted (Kubernetes' `--unhealthy-zone-threshold` default).
 */
export const UNHEALTHY_ZONE_THRESHOLD = 0.55;

/**
 * The state of a zone, as Kubernetes' node lifecycle controller has it: `normal`; `partial`, so
 * many of its nodes lost at once that the cause is more likely the network or the control plane
 * than the nodes; `full`, none of its nodes ready.
 */
export type ZoneState = "normal" | "partial" | "full";

export interface ZoneHealth {
  zone: string;
  ready: number;
  notReady: number;
  state: ZoneState;
}

/** Nodes without the zone label share the zone "". */
export const zoneOf = (node: Pick<NodeRow, "labels">): string => node.labels[ZONE_LABEL] ?? "";

/**
 * Each zone of a cluster's nodes (those not left), with its state. A leaving node still heartbeats
 * and counts as ready; a node is not ready once its lease lapsed.
 */
export function zoneHealth(nodes: Iterable<Pick<NodeRow, "labels" | "status">>): Map<string, ZoneHealth> {
  const zones = new Map<string, ZoneHealth>();
  for (const n of nodes) {
    if (n.status === "left") continue;
    const zone = zoneOf(n);
    const z = zones.get(zone) ?? { zone, ready: 0, notReady: 0, state: "normal" };
    zones.set(zone, z);
    if (n.status === "not_ready") z.notReady++;
    else z.ready++;
  }
  for (const z of zones.values()) {
    if (z.ready === 0 && z.notReady > 0) z.state = "full";
    else if (z.notReady > 2 && z.notReady / (z.ready + z.notReady) >= UNHEALTHY_ZONE_THRESHOLD)
      z.state = "partial";
  }
  return zones;
}

/**
 * Where a lost node's pods may be evicted. Every zone fully disrupted (no node of the cluster
 * ready): nowhere, as the control plane that stopped hearing them is the likelier fault (a stalled
 * API lapses every lease at once) and there is no node to move pods to anyway. A partially
 * disrupted zone: not in it, while it lasts. A zone down while others are healthy: yes, that is an
 * outage of the zone, and its pods belong elsewhere.
 */
export function evictionHolds(zones: ReadonlyMap<string, ZoneHealth>): {
  everywhere: boolean;
  zones: ZoneHealth[];
} {
  const all = [...zones.values()];
  const everywhere = all.length > 0 && all.every((z) => z.state === "full");
  return { everywhere, zones: everywhere ? all : all.filter((z) => z.state === "partial") };
}
