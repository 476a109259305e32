import { createHash } from "node:crypto";
import type { ServiceProtocol, ServiceSpec } from "../kinds/service";

/** A pod as the endpoints of a service see it. */
export interface EndpointPod {
  uid: string;
  name: string;
  namespace: string;
  labels: Record<string, string>;
  podIP: string | null;
  nodeName: string | null;
  ready: boolean;
  terminating: boolean;
  /** Named container ports of the pod (`http` → 8080), for named `targetPort`s. */
  namedPorts: Record<string, number>;
  /** Every port its containers declare (other nodes reach a pod's address at these: README, Networking). */
  containerPorts: { port: number; protocol: string }[];
  /** `spec.hostname` and `spec.subdomain`: the pod's DNS name under a headless Service of that name. */
  hostname?: string | undefined;
  subdomain?: string | undefined;
}

export interface EndpointPort {
  name: string;
  port: number;
  protocol: ServiceProtocol;
}

export interface Endpoint {
  addresses: [string];
  /** `ready` is true for every endpoint kept; `serving` is the pod's readiness (false only under publishNotReadyAddresses). */
  conditions: { ready: true; serving: boolean; terminating: false };
  /** The pod's `spec.hostname` when its `spec.subdomain` names the Service (Kubernetes' rule). */
  hostname?: string;
  nodeName?: string;
  targetRef: { kind: "Pod"; name: string; namespace: string; uid: string };
}

/** One slice: the ready endpoints that share one resolution of the service's ports. */
export interface EndpointSliceView {
  name: string;
  ports: EndpointPort[];
  endpoints: Endpoint[];
}

/** `targetPort` of one service port for one pod: a number, or the pod's container port of that name. */
function resolvePort(target: number | string, pod: EndpointPod): number | undefined {
  return typeof target === "number" ? target : pod.namedPorts[target];
}

/**
 * The endpoints of a service, as kube's EndpointSlice controller makes them, keeping only what
 * Berth routes to: pods its selector matches that are ready (or any, with `publishNotReadyAddresses`,
 * then `ready` as Kubernetes marks them and `serving` false), not terminating and have an address.
 * Pods whose named target ports resolve differently go into different slices (as in Kubernetes);
 * a port a pod does not name is left out for that pod. Slices are named `<service>-<hash of ports>`,
 * stable while the ports are.
 */
export function endpointSlicesOf(
  serviceName: string,
  spec: ServiceSpec,
  pods: readonly EndpointPod[],
): EndpointSliceView[] {
  const selector = spec.selector;
  if (!selector || Object.keys(selector).length === 0) return [];
  const groups = new Map<string, EndpointSliceView>();
  const sorted = [...pods].sort((a, b) => a.name.localeCompare(b.name));
  for (const pod of sorted) {
    if ((!pod.ready && !spec.publishNotReadyAddresses) || pod.terminating || !pod.podIP) continue;
    if (!Object.entries(selector).every(([k, v]) => pod.labels[k] === v)) continue;
    const ports: EndpointPort[] = [];
    for (const p of spec.ports) {
      const port = resolvePort(p.targetPort, pod);
      if (port !== undefined) ports.push({ name: p.name, port, protocol: p.protocol });
    }
    // A headless Service may have no port at all: its endpoints are addresses only.
    if (ports.length === 0 && spec.ports.length > 0) continue;
    const key = JSON.stringify(ports);
    let slice = groups.get(key);
    if (!slice) {
      slice = { name: `${serviceName}-${hashOf(key)}`, ports, endpoints: [] };
      groups.set(key, slice);
    }
    slice.endpoints.push({
      addresses: [pod.podIP],
      conditions: { ready: true, serving: pod.ready, terminating: false },
      ...(pod.hostname && pod.subdomain === serviceName ? { hostname: pod.hostname } : {}),
      ...(pod.nodeName ? { nodeName: pod.nodeName } : {}),
      targetRef: { kind: "Pod", name: pod.name, namespace: pod.namespace, uid: pod.uid },
    });
  }
  // Kubernetes keeps a placeholder slice (no endpoints, no ports) for a service that selects no ready pod.
  if (groups.size === 0) return [{ name: `${serviceName}-${hashOf("[]")}`, ports: [], endpoints: [] }];
  return [...groups.values()];
}

/** The endpoints of one port of a Service across its slices, each with the port it serves on. */
export function endpointsOfPort(
  slices: readonly EndpointSliceView[],
  portName: string,
): { endpoint: Endpoint; port: number }[] {
  return slices.flatMap((slice) => {
    const served = slice.ports.find((sp) => sp.name === portName);
    return served ? slice.endpoints.map((endpoint) => ({ endpoint, port: served.port })) : [];
  });
}

const hashOf = (text: string) => createHash("sha256").update(text).digest("hex").slice(0, 5);

/** The named container ports of a pod template's containers. */
/** Every declared container port of a pod, once each. */
export function containerPortsOf(
  containers: readonly { ports?: { containerPort: number; protocol?: string }[] }[],
): { port: number; protocol: string }[] {
  const seen = new Map<string, { port: number; protocol: string }>();
  for (const c of containers)
    for (const p of c.ports ?? []) {
      const protocol = p.protocol ?? "TCP";
      seen.set(`${p.containerPort}/${protocol}`, { port: p.containerPort, protocol });
    }
  return [...seen.values()];
}

export function namedPortsOf(containers: readonly { ports?: { name?: string; containerPort: number }[] }[]) {
  const out: Record<string, number> = {};
  for (const c of containers)
    for (const p of c.ports ?? []) if (p.name && out[p.name] === undefined) out[p.name] = p.containerPort;
  return out;
}
