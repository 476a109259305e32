import { type Assignment, CONTAINER_LABELS, type ContainerTemplate } from "@berth/protocol";
import type { ContainerNetwork, ContainerSpec, Mount, PortMapping } from "./runtime";

/** Who this agent is: every container it starts carries these. */
export interface NodeIdentity {
  nodeId: string;
  clusterId: string;
  installationId: string;
}

/** The host ports of each container of a pod, in the order the scheduler handed them out. */
export function portsOf(a: Assignment, publishAddress: string): Map<string, PortMapping[]> {
  const out = new Map<string, PortMapping[]>();
  let next = 0;
  for (const t of a.containers)
    out.set(
      t.name,
      t.ports
        .map((p) => ({
          containerPort: p.containerPort,
          hostPort: a.hostPorts[next++] ?? 0,
          hostIp: publishAddress,
          protocol: p.protocol === "UDP" ? ("udp" as const) : ("tcp" as const),
        }))
        .filter((p) => p.hostPort > 0),
    );
  return out;
}

export function containerName(podId: string, container: string): string {
  return `berth-${podId}-${container}`;
}

/** How one instance of a container runs, beyond its template. */
export interface InstanceOptions {
  /** The engine name of this instance. */
  name?: string;
  /** Instances of the container before this one. */
  restartCount?: number;
  init?: boolean;
  user?: string;
  groups?: number[];
  mounts?: Mount[];
  capabilities?: string[];
  /** The cluster network it joins, and the service variables it gets (its own `env` wins over them). */
  network?: ContainerNetwork;
  serviceEnv?: Record<string, string>;
  /** The pod's sandbox whose namespaces it joins instead of a network (pods/sandbox.ts). */
  sandboxId?: string;
}

/** The runtime's spec of one container of a pod. */
export function containerSpecOf(
  a: Assignment,
  t: ContainerTemplate,
  ports: PortMapping[],
  identity: NodeIdentity,
  o: InstanceOptions = {},
): ContainerSpec {
  return {
    name: o.name ?? containerName(a.podId, t.name),
    image: t.image,
    command: t.command,
    args: t.args,
    env: { ...o.serviceEnv, ...Object.fromEntries(t.env.map((e) => [e.name, e.value])) },
    labels: {
      [CONTAINER_LABELS.node]: identity.nodeId,
      [CONTAINER_LABELS.cluster]: identity.clusterId,
      [CONTAINER_LABELS.installation]: identity.installationId,
      [CONTAINER_LABELS.pod]: a.podId,
      [CONTAINER_LABELS.container]: t.name,
      [CONTAINER_LABELS.podName]: a.name,
      [CONTAINER_LABELS.namespace]: a.namespace,
      [CONTAINER_LABELS.restartCount]: String(o.restartCount ?? 0),
      [CONTAINER_LABELS.kind]: o.init ? "init" : "app",
    },
    ports,
    resources: { nanoCpus: t.limits.cpuMillis * 1_000_000, memoryBytes: t.limits.memoryBytes },
    hostname: (a.hostname ?? a.name).slice(0, 63),
    ...(o.user !== undefined ? { user: o.user } : {}),
    ...(o.groups && o.groups.length > 0 ? { groups: o.groups } : {}),
    ...(t.workingDir ? { workingDir: t.workingDir } : {}),
    ...(o.mounts && o.mounts.length > 0 ? { mounts: o.mounts } : {}),
    ...(t.securityContext.readOnlyRootFilesystem ? { readOnlyRootFilesystem: true } : {}),
    ...(o.capabilities && o.capabilities.length > 0 ? { capabilities: o.capabilities } : {}),
    ...(o.network ? { network: o.network } : {}),
    ...(o.sandboxId ? { sandboxId: o.sandboxId } : {}),
  };
}
