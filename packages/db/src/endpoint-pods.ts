import { containerPortsOf, type EndpointPod, namedPortsOf } from "@berth/kube";
import { and, eq, inArray } from "drizzle-orm";
import type { Tx } from "./client";
import { nodes, pods } from "./schema";

/** The pods of a cluster (one namespace, or those given) as endpoints see them. */
export async function endpointPods(tx: Tx, clusterId: string, namespaces?: readonly string[]) {
  if (namespaces && namespaces.length === 0) return [];
  const rows = await tx
    .select({ pod: pods, nodeName: nodes.name })
    .from(pods)
    .leftJoin(nodes, eq(nodes.id, pods.nodeId))
    .where(
      and(eq(pods.clusterId, clusterId), namespaces ? inArray(pods.namespace, [...namespaces]) : undefined),
    );
  return rows.map(
    ({ pod, nodeName }): EndpointPod => ({
      uid: pod.id,
      name: pod.name,
      namespace: pod.namespace,
      labels: pod.labels,
      podIP: pod.podIp,
      nodeName,
      ready: pod.ready && pod.phase === "Running",
      terminating: pod.deletionRequestedAt !== null,
      namedPorts: namedPortsOf(pod.template.containers),
      containerPorts: containerPortsOf(pod.template.containers),
      hostname: pod.template.hostname,
      subdomain: pod.template.subdomain,
    }),
  );
}
