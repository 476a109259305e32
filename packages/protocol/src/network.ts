import { z } from "zod";
import { networkPoliciesSchema } from "./network-policy";
import { watchRequestSchema } from "./node";
import { tunnelViewFields } from "./tunnel";

/** The cluster DNS domain (Kubernetes' default `cluster.local`). */
export const CLUSTER_DOMAIN = "cluster.local";

/** One ready endpoint of a service port: a pod's address and the port it serves on. */
export const networkEndpointSchema = z.object({
  podId: z.string(),
  ip: z.string(),
  port: z.number().int().min(1).max(65535),
  nodeName: z.string().nullable(),
  /** The endpoint's hostname (a pod's `spec.hostname` under the headless Service its `subdomain` names). */
  hostname: z.string().optional(),
});
export type NetworkEndpoint = z.infer<typeof networkEndpointSchema>;

export const networkServiceSchema = z.object({
  namespace: z.string(),
  name: z.string(),
  clusterIP: z.string(),
  sessionAffinity: z.enum(["None", "ClientIP"]),
  /** ClientIP affinity: how long a client stays with its endpoint after its last connection. */
  affinityTimeoutSeconds: z.number().int().min(0),
  /** Its endpoints include pods that are not ready: the proxies route to them regardless (as kube-proxy). */
  publishNotReadyAddresses: z.boolean().optional(),
  ports: z.array(
    z.object({
      name: z.string(),
      port: z.number().int().min(1).max(65535),
      protocol: z.enum(["TCP", "UDP"]),
      /** NodePort and LoadBalancer services: the port every node of the cluster serves it on. */
      nodePort: z.number().int().min(1).max(65535).optional(),
      endpoints: z.array(networkEndpointSchema),
    }),
  ),
  /**
   * A headless Service (`clusterIP: None`): every endpoint address, whatever its ports (its DNS
   * name answers all of them; it may have no port at all).
   */
  addresses: z.array(networkEndpointSchema.omit({ port: true })).optional(),
});
export type NetworkService = z.infer<typeof networkServiceSchema>;

/** A pod with an address on a node of the cluster, and the ports its containers declare. */
export const networkPodSchema = z.object({
  podId: z.string(),
  ip: z.string(),
  nodeName: z.string(),
  ports: z.array(z.object({ port: z.number().int().min(1).max(65535), protocol: z.string() })),
});
export type NetworkPod = z.infer<typeof networkPodSchema>;

/**
 * `GET /v1/nodes/network?version=&waitMs=`: what a node's service proxy and DNS server serve — the
 * cluster's service range and DNS address, and every Service with its ready endpoints on every
 * node. With `version` and `waitMs` it is a long poll: it answers at once when the view differs
 * from `version`, else as soon as it changes, else after `waitMs` with the same view.
 */
export const networkViewSchema = z.object({
  /** Changes whenever anything below does. */
  version: z.string(),
  serviceCidr: z.string(),
  dnsAddress: z.string(),
  clusterDomain: z.string(),
  services: z.array(networkServiceSchema),
  /** The NetworkPolicies, resolved to pod addresses and ports (absent from an older control plane: none). */
  policies: networkPoliciesSchema.optional(),
  /**
   * This node's pod address range (its bridge network's subnet), every node's range in the cluster,
   * and the cluster's pods with addresses (absent from an older control plane: the engine picks a
   * subnet, and pods of other nodes are reached only through Services).
   */
  podCidr: z.string().optional(),
  podCidrs: z.array(z.string()).optional(),
  pods: z.array(networkPodSchema).optional(),
  ...tunnelViewFields,
});
export type NetworkView = z.infer<typeof networkViewSchema>;

export const networkRequestSchema = z
  .object({
    ...watchRequestSchema.shape,
    /**
     * The node's pod range cannot be made on its host (something there holds that subnet): the
     * control plane gives the node the next free one.
     */
    podCidrTaken: z
      .string()
      .regex(/^\d{1,3}\.\d{1,3}\.\d{1,3}\.0\/24$/, "must be a /24 network")
      .optional(),
  })
  .strict();
export type NetworkRequest = z.infer<typeof networkRequestSchema>;

const envName = (service: string) => service.toUpperCase().replaceAll("-", "_");

/** Whether a service has a clusterIP to serve (kube's `IsServiceIPSet`): not headless (`None`), not unallocated. */
export const hasClusterIP = (s: { clusterIP: string }): boolean =>
  s.clusterIP !== "" && s.clusterIP !== "None";

/**
 * The variables Kubernetes gives a container for each service of its namespace that exists when
 * it starts (kubelet's `getServiceEnvVarMap`, the Docker-links style included):
 * `WEB_SERVICE_HOST`, `WEB_SERVICE_PORT`, `WEB_SERVICE_PORT_HTTP`, `WEB_PORT`, `WEB_PORT_80_TCP`,
 * `WEB_PORT_80_TCP_PROTO`, `WEB_PORT_80_TCP_PORT`, `WEB_PORT_80_TCP_ADDR` (`_UDP`, `udp://` for UDP
 * ports); none for headless services, as kubelet skips services without a clusterIP.
 */
export function serviceEnv(services: readonly NetworkService[], namespace: string): Record<string, string> {
  const env: Record<string, string> = {};
  const mine = services
    .filter((s) => s.namespace === namespace && hasClusterIP(s))
    .sort((a, b) => a.name.localeCompare(b.name));
  for (const s of mine) {
    const name = envName(s.name);
    const first = s.ports[0];
    if (!first) continue;
    env[`${name}_SERVICE_HOST`] = s.clusterIP;
    env[`${name}_SERVICE_PORT`] = String(first.port);
    for (const p of s.ports) if (p.name) env[`${name}_SERVICE_PORT_${envName(p.name)}`] = String(p.port);
    env[`${name}_PORT`] = `${first.protocol.toLowerCase()}://${s.clusterIP}:${first.port}`;
    for (const p of s.ports) {
      const proto = p.protocol.toLowerCase();
      const prefix = `${name}_PORT_${p.port}_${p.protocol}`;
      env[prefix] = `${proto}://${s.clusterIP}:${p.port}`;
      env[`${prefix}_PROTO`] = proto;
      env[`${prefix}_PORT`] = String(p.port);
      env[`${prefix}_ADDR`] = s.clusterIP;
    }
  }
  return env;
}

/** Whether an IPv4 address lies in a CIDR block (`10.89.0.0/24`). */
export function inCidr(cidr: string, ip: string): boolean {
  if (!/^\d+\.\d+\.\d+\.\d+$/.test(ip)) return false;
  const [base = "", bits = "32"] = cidr.split("/");
  const toInt = (a: string) => a.split(".").reduce((n, p) => (n << 8) | Number(p), 0) >>> 0;
  const b = Number(bits);
  const mask = b === 0 ? 0 : (~0 << (32 - b)) >>> 0;
  return (toInt(ip) & mask) >>> 0 === (toInt(base) & mask) >>> 0;
}
