import type { NetworkPolicies, PodPolicy, PolicyAllow, PolicyPort } from "@berth/protocol";
import { type LabelSelector, selectorMatches } from "../kinds/common";
import type {
  NetworkPolicyPeer,
  NetworkPolicyPort,
  NetworkPolicyRule,
  NetworkPolicySpec,
} from "../kinds/network-policy";

/** A pod as policies see it: where it is, its labels, its address and named ports. */
export interface PolicyPod {
  namespace: string;
  labels: Record<string, string>;
  podIP: string | null;
  namedPorts: Record<string, number>;
}

export interface PolicyObject {
  namespace: string;
  spec: NetworkPolicySpec;
}

export interface PolicyWorld {
  policies: readonly PolicyObject[];
  /** Pods that can be selected by policies (and be peers). */
  pods: readonly PolicyPod[];
  /** Namespaces and their labels (`kubernetes.io/metadata.name` included). */
  namespaces: Readonly<Record<string, Record<string, string>>>;
  /** Peers that policies select but never govern (the cluster DNS, as Kubernetes' kube-dns pods). */
  peersOnly?: readonly PolicyPod[];
}

const EVERYWHERE = "0.0.0.0/0";

/**
 * Kubernetes' NetworkPolicy semantics, resolved to addresses: for each pod address selected by a
 * policy of type Ingress (Egress), every entry that some rule of some such policy allows — the
 * union; a selected pod with no entry takes (opens) nothing new. A peer's `podSelector` alone
 * picks pods of the policy's namespace, `namespaceSelector` alone every pod of the matching
 * namespaces, both together the matching pods of the matching namespaces. A named port is the
 * container port of that name of the pod the traffic goes to (the selected pod for ingress, the
 * peer for egress); where it has none, the port matches nothing.
 */
export function resolveNetworkPolicies(w: PolicyWorld): NetworkPolicies {
  const pods = w.pods.filter((p): p is PolicyPod & { podIP: string } => p.podIP !== null);
  const peers = [
    ...pods,
    ...(w.peersOnly ?? []).filter((p): p is PolicyPod & { podIP: string } => !!p.podIP),
  ];
  const ingress = new Map<string, PolicyAllow[]>();
  const egress = new Map<string, PolicyAllow[]>();
  for (const policy of w.policies) {
    const selected = pods.filter(
      (p) => p.namespace === policy.namespace && selectorMatches(policy.spec.podSelector, p.labels),
    );
    const peerPods = (peer: NetworkPolicyPeer) =>
      peers.filter((p) => peerSelects(peer, policy.namespace, p, w));
    if (policy.spec.policyTypes.includes("Ingress"))
      for (const pod of selected) {
        const list = ingress.get(pod.podIP) ?? [];
        ingress.set(pod.podIP, list);
        for (const rule of policy.spec.ingress) list.push(...ingressEntries(rule, pod, peerPods));
      }
    if (policy.spec.policyTypes.includes("Egress"))
      for (const pod of selected) {
        const list = egress.get(pod.podIP) ?? [];
        egress.set(pod.podIP, list);
        for (const rule of policy.spec.egress) list.push(...egressEntries(rule, peers, peerPods));
      }
  }
  const out = (m: Map<string, PolicyAllow[]>): PodPolicy[] =>
    [...m].sort(([a], [b]) => a.localeCompare(b)).map(([ip, allow]) => ({ ip, allow: dedupe(allow) }));
  return { ingress: out(ingress), egress: out(egress) };
}

function peerSelects(
  peer: NetworkPolicyPeer,
  policyNamespace: string,
  pod: PolicyPod,
  w: PolicyWorld,
): boolean {
  if (peer.ipBlock) return false;
  const inNamespace = peer.namespaceSelector
    ? selects(peer.namespaceSelector, w.namespaces[pod.namespace])
    : pod.namespace === policyNamespace;
  return inNamespace && (!peer.podSelector || selectorMatches(peer.podSelector, pod.labels));
}

const selects = (s: LabelSelector, labels: Record<string, string> | undefined) =>
  labels !== undefined && selectorMatches(s, labels);

/** A rule's ports as numbers on one pod: a named port it lacks matches nothing. */
function portsOn(
  ports: readonly NetworkPolicyPort[] | undefined,
  pod: PolicyPod | null,
): PolicyPort[] | null {
  if (!ports) return null;
  const out: PolicyPort[] = [];
  for (const p of ports) {
    if (p.port === undefined) out.push({ protocol: p.protocol });
    else if (typeof p.port === "number")
      out.push({
        protocol: p.protocol,
        port: p.port,
        ...(p.endPort !== undefined ? { endPort: p.endPort } : {}),
      });
    else {
      const n = pod?.namedPorts[p.port];
      if (n !== undefined) out.push({ protocol: p.protocol, port: n });
    }
  }
  return out;
}

function ingressEntries(
  rule: NetworkPolicyRule,
  pod: PolicyPod,
  peerPods: (peer: NetworkPolicyPeer) => PolicyPod[],
): PolicyAllow[] {
  const ports = portsOn(rule.ports, pod);
  if (ports?.length === 0) return [];
  if (!rule.peers) return [{ cidr: EVERYWHERE, except: [], ports }];
  return rule.peers.flatMap((peer) =>
    peer.ipBlock
      ? [{ cidr: peer.ipBlock.cidr, except: peer.ipBlock.except, ports }]
      : peerPods(peer).map((p) => ({ cidr: `${p.podIP}/32`, except: [], ports })),
  );
}

function egressEntries(
  rule: NetworkPolicyRule,
  everyPod: readonly PolicyPod[],
  peerPods: (peer: NetworkPolicyPeer) => PolicyPod[],
): PolicyAllow[] {
  const named = rule.ports?.some((p) => typeof p.port === "string") ?? false;
  const toPods = (list: readonly PolicyPod[]) =>
    list.flatMap((p) => {
      const ports = portsOn(rule.ports, p);
      return ports?.length === 0 ? [] : [{ cidr: `${p.podIP}/32`, except: [], ports }];
    });
  const toBlock = (cidr: string, except: string[]) => {
    const ports = portsOn(rule.ports, null);
    return ports?.length === 0 ? [] : [{ cidr, except, ports }];
  };
  if (!rule.peers)
    // Every destination; named ports only where a pod has them.
    return [...toBlock(EVERYWHERE, []), ...(named ? toPods(everyPod) : [])];
  return rule.peers.flatMap((peer) =>
    peer.ipBlock ? toBlock(peer.ipBlock.cidr, peer.ipBlock.except) : toPods(peerPods(peer)),
  );
}

function dedupe(list: PolicyAllow[]): PolicyAllow[] {
  const seen = new Set<string>();
  return list.filter((a) => {
    const k = JSON.stringify(a);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
