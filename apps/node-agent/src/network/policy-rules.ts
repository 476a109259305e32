import {
  cidrMinus,
  type NetworkPolicies,
  type PodPolicy,
  type PolicyAllow,
  type PolicyPort,
} from "@berth/protocol";

/** The cluster network's policy chains (iptables names are at most 28 characters). */
export interface PolicyChains {
  ingress: string;
  egress: string;
}

/** What the policies add to a cluster network's firewall, as `iptables-restore` lines. */
export interface PolicyRules {
  /** Appended to the network's forward chain (after its isolation rules). */
  forward: string[];
  /** Inserted in its input chain before the openings: egress towards the cluster DNS. */
  input: string[];
  /** The bodies of the two policy chains. */
  ingress: string[];
  egress: string[];
}

export const NO_POLICY_RULES: PolicyRules = { forward: [], input: [], ingress: [], egress: [] };

function matchPorts(ports: readonly PolicyPort[] | null): string[] {
  if (ports === null) return [""];
  return ports.map((p) => {
    const proto = p.protocol.toLowerCase();
    if (p.port === undefined) return ` -p ${proto}`;
    const range = p.endPort !== undefined && p.endPort !== p.port ? `${p.port}:${p.endPort}` : `${p.port}`;
    return ` -p ${proto} --dport ${range}`;
  });
}

/**
 * One pod's rules in a policy chain: a RETURN for each (peer block, port) an entry allows —
 * an ipBlock's exceptions cut out of its CIDR as disjoint blocks — then a DROP for the rest of the
 * pod's new connections. The same entries are what `policyAllows` reads, for the service proxy.
 */
function podRules(chain: string, pod: PodPolicy, self: "-d" | "-s", peer: "-s" | "-d"): string[] {
  const lines: string[] = [];
  for (const a of pod.allow as PolicyAllow[])
    for (const block of cidrMinus(a.cidr, a.except))
      for (const ports of matchPorts(a.ports))
        lines.push(`-A ${chain} ${self} ${pod.ip}/32 ${peer} ${block}${ports} -j RETURN`);
  lines.push(`-A ${chain} ${self} ${pod.ip}/32 -j DROP`);
  return lines;
}

/**
 * The firewall's share of NetworkPolicy: new connections between pods (and between a pod and
 * anything outside the host) go through the policy chains — a pod some Ingress policy selects takes
 * only what its entries allow, a pod some Egress policy selects opens only what its entries allow;
 * replies pass; a pod no policy selects is open. Traffic the host itself opens (probes, the service
 * proxy's connections) does not cross the forward chain: the proxy checks the same entries itself.
 */
export function policyRules(
  policies: NetworkPolicies,
  subnet: string,
  dnsAddress: string,
  chains: PolicyChains,
): PolicyRules {
  if (policies.ingress.length === 0 && policies.egress.length === 0) return NO_POLICY_RULES;
  return {
    forward: [
      "-m conntrack --ctstate RELATED,ESTABLISHED -j RETURN",
      ...(policies.egress.length > 0 ? [`-s ${subnet} -j ${chains.egress}`] : []),
      ...(policies.ingress.length > 0 ? [`-d ${subnet} -j ${chains.ingress}`] : []),
    ],
    input: policies.egress.map((p) => `-s ${p.ip}/32 -d ${dnsAddress}/32 -j ${chains.egress}`),
    ingress: policies.ingress.flatMap((p) => podRules(chains.ingress, p, "-d", "-s")),
    egress: policies.egress.flatMap((p) => podRules(chains.egress, p, "-s", "-d")),
  };
}
