import { createHash } from "node:crypto";
import { UnauthenticatedError } from "@berth/core";
import { nodes, objects, withTenant } from "@berth/db";
import {
  clusterDnsAddress,
  type EndpointPod,
  endpointsOfPort,
  HEADLESS,
  type ServiceSpec,
} from "@berth/kube";
import {
  CLUSTER_DOMAIN,
  type NetworkRequest,
  type NetworkService,
  type NetworkView,
  networkViewSchema,
  WATCH_MAX_WAIT_MS,
} from "@berth/protocol";
import { and, asc, eq, isNotNull, ne } from "drizzle-orm";
import type { Deps, NodeCaller } from "../../deps";
import type { RequestMeta } from "../../operation";
import { strictly } from "../replies";
import { endpointPods, headlessAddresses, networkEndpoint, slicesOfService } from "./endpoints";
import { tunnelView } from "./node-certificate";
import { ensurePodCidr } from "./pod-cidr";
import { clusterPolicies } from "./policies";
import { ensureServiceRange } from "./service-range";

/** The node agent's schema of the view (lenient, for its own reading), strict at every level. */
export const networkViewReply = strictly(networkViewSchema);

/**
 * `GET /v1/nodes/network`: what a node's service proxy and DNS server need — the cluster's
 * service range, its DNS address, and every Service of the cluster with the ready endpoints of
 * each of its ports, on every node (a node routes to pods anywhere in its cluster, and only there).
 * With `version` and `waitMs`, the long poll that pushes it: answered at once when the view differs
 * from `version`, else as soon as a committed change concerns the cluster's network (migration
 * 0027's triggers, heard by the hub), else after `waitMs` with what is current.
 */
export async function nodeNetwork(
  deps: Deps,
  caller: NodeCaller,
  input: NetworkRequest,
  request: RequestMeta,
): Promise<NetworkView> {
  if (input.version === undefined || !input.waitMs) return readView(deps, caller, input.podCidrTaken);
  const deadline = Date.now() + Math.min(input.waitMs, WATCH_MAX_WAIT_MS);
  // Subscribed before the first read: a change committed in between is never missed.
  const subscription = deps.assignments.subscribeNetwork(caller.clusterId);
  try {
    for (;;) {
      const current = await readView(deps, caller);
      if (current.version !== input.version) return current;
      const changed = await subscription.next(deadline - Date.now(), request.signal);
      if (!changed) return current;
    }
  } finally {
    subscription.close();
  }
}

async function readView(deps: Deps, caller: NodeCaller, podCidrTaken?: string): Promise<NetworkView> {
  return withTenant(deps.db, caller.tenantId, async (tx) => {
    const [node] = await tx
      .select({ status: nodes.status })
      .from(nodes)
      .where(and(eq(nodes.id, caller.nodeId), eq(nodes.clusterId, caller.clusterId)));
    if (!node || node.status === "left")
      throw new UnauthenticatedError("this node is not part of the cluster");
    const serviceCidr = await ensureServiceRange(tx, caller.clusterId);
    const rows = await tx
      .select()
      .from(objects)
      .where(and(eq(objects.clusterId, caller.clusterId), eq(objects.kind, "Service")))
      .orderBy(asc(objects.namespace), asc(objects.name));
    let loaded: Promise<EndpointPod[]> | undefined;
    const allPods = () => {
      loaded ??= endpointPods(tx, caller.clusterId);
      return loaded;
    };
    const podCidr = await ensurePodCidr(tx, caller.nodeId, podCidrTaken);
    const cidrs = await tx
      .select({ cidr: nodes.podCidr })
      .from(nodes)
      .where(and(eq(nodes.clusterId, caller.clusterId), ne(nodes.status, "left"), isNotNull(nodes.podCidr)))
      .orderBy(asc(nodes.podCidr));
    const everyPod = await allPods();
    const pods = rows.length > 0 ? everyPod : [];
    const services = rows.map((row): NetworkService => {
      const spec = row.spec as unknown as ServiceSpec;
      const slices = slicesOfService(row, pods);
      return {
        namespace: row.namespace,
        name: row.name,
        clusterIP: spec.clusterIP,
        sessionAffinity: spec.sessionAffinity,
        affinityTimeoutSeconds: spec.sessionAffinityTimeoutSeconds ?? 0,
        ...(spec.publishNotReadyAddresses ? { publishNotReadyAddresses: true } : {}),
        ports: spec.ports.map((p) => ({
          name: p.name,
          port: p.port,
          protocol: p.protocol,
          ...(p.nodePort !== undefined && spec.type !== "ClusterIP" ? { nodePort: p.nodePort } : {}),
          endpoints: endpointsOfPort(slices, p.name).map(({ endpoint: e, port }) => networkEndpoint(e, port)),
        })),
        ...(spec.clusterIP === HEADLESS ? { addresses: headlessAddresses(slices) } : {}),
      };
    });
    const dnsAddress = clusterDnsAddress(serviceCidr);
    const body = {
      serviceCidr,
      dnsAddress,
      clusterDomain: CLUSTER_DOMAIN,
      services,
      policies: await clusterPolicies(tx, caller.clusterId, allPods, dnsAddress),
      podCidr,
      podCidrs: cidrs.map((c) => c.cidr as string),
      pods: everyPod
        .filter((p) => p.podIP && p.nodeName)
        .map((p) => ({
          podId: p.uid,
          ip: p.podIP as string,
          nodeName: p.nodeName as string,
          ports: p.containerPorts,
        }))
        .sort((a, b) => a.podId.localeCompare(b.podId)),
      ...(await tunnelView(tx, deps, caller)),
    };
    const version = createHash("sha256").update(JSON.stringify(body)).digest("base64url").slice(0, 32);
    return { version, ...body };
  });
}
