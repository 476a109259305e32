import { objects, type Tx } from "@berth/db";
import {
  type EndpointPod,
  type NetworkPolicySpec,
  type PolicyPod,
  resolveNetworkPolicies,
} from "@berth/kube";
import type { NetworkPolicies } from "@berth/protocol";
import { and, eq, inArray } from "drizzle-orm";

/**
 * The cluster DNS as policies see it: Berth's DNS is the node's, at the cluster's DNS address, but
 * the policies Kubernetes' documentation gives for it select `k8s-app: kube-dns` pods in
 * `kube-system` on port 53 — so the address stands as such a pod (a peer only: no policy governs it).
 */
export const clusterDnsPeer = (dnsAddress: string): PolicyPod => ({
  namespace: "kube-system",
  labels: { "k8s-app": "kube-dns" },
  podIP: dnsAddress,
  namedPorts: { dns: 53, "dns-tcp": 53 },
});

/** The cluster's NetworkPolicies resolved to pod addresses and ports, worked out on each read. */
export async function clusterPolicies(
  tx: Tx,
  clusterId: string,
  pods: () => Promise<readonly EndpointPod[]>,
  dnsAddress: string,
): Promise<NetworkPolicies> {
  const rows = await tx
    .select({
      kind: objects.kind,
      namespace: objects.namespace,
      name: objects.name,
      labels: objects.labels,
      spec: objects.spec,
    })
    .from(objects)
    .where(and(eq(objects.clusterId, clusterId), inArray(objects.kind, ["NetworkPolicy", "Namespace"])));
  const policies = rows
    .filter((r) => r.kind === "NetworkPolicy")
    .map((r) => ({ namespace: r.namespace, spec: r.spec as unknown as NetworkPolicySpec }));
  if (policies.length === 0) return { ingress: [], egress: [] };
  const namespaces = Object.fromEntries(
    rows
      .filter((r) => r.kind === "Namespace")
      .map((r) => [r.name, { ...r.labels, "kubernetes.io/metadata.name": r.name }]),
  );
  // Built-in namespaces exist in every cluster, whether or not their rows were made yet.
  for (const name of ["default", "kube-system", "kube-public"])
    namespaces[name] ??= { "kubernetes.io/metadata.name": name };
  return resolveNetworkPolicies({
    policies,
    pods: await pods(),
    namespaces,
    peersOnly: [clusterDnsPeer(dnsAddress)],
  });
}
