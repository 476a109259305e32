import { randomInt } from "node:crypto";
import { BerthError, ValidationError } from "@berth/core";
import { nodes, objects, type Tx } from "@berth/db";
import { NODE_PORT_RANGE, type ServiceSpec } from "@berth/kube";
import { and, asc, eq } from "drizzle-orm";

const key = (namespace: string, name: string) => `${namespace}/${name}`;

/**
 * Node ports of one apply, as Kubernetes allocates them: every port of a NodePort or LoadBalancer
 * Service gets one from 30000–32767, unique in the cluster (the TCP and UDP ports of one port
 * number share theirs). A port that asks for one gets it if no
 * other Service holds it; one that does not keeps the one it had (same port and protocol) across
 * re-applies, else gets a free one at random. What is in use is read from the Services that exist,
 * so a deleted Service's ports are free again; a ClusterIP Service holds none.
 */
export class NodePorts {
  /** node port → `namespace/name` of the Service holding it (stored, or admitted earlier in this apply). */
  private used: Map<number, string> | undefined;

  constructor(
    private readonly tx: Tx,
    private readonly clusterId: string,
  ) {}

  private async load(): Promise<Map<number, string>> {
    if (this.used) return this.used;
    const rows = await this.tx
      .select({ namespace: objects.namespace, name: objects.name, spec: objects.spec })
      .from(objects)
      .where(and(eq(objects.clusterId, this.clusterId), eq(objects.kind, "Service")));
    this.used = new Map();
    for (const r of rows)
      for (const p of (r.spec as unknown as ServiceSpec).ports ?? [])
        if (p.nodePort !== undefined) this.used.set(p.nodePort, key(r.namespace, r.name));
    return this.used;
  }

  async assign(namespace: string, name: string, spec: ServiceSpec, current: ServiceSpec | undefined) {
    const used = await this.load();
    const me = key(namespace, name);
    for (const [port, holder] of [...used]) if (holder === me) used.delete(port);
    if (spec.type === "ClusterIP") return spec;
    // As Kubernetes: the TCP and UDP ports of one port number share one node port; one node port
    // serves each protocol once.
    const taken = new Set<string>();
    const byPort = new Map<number, number>();
    const take = (nodePort: number, protocol: string, i: number) => {
      const holder = used.get(nodePort);
      if ((holder !== undefined && holder !== me) || taken.has(`${nodePort}/${protocol}`))
        throw new ValidationError(`spec.ports[${i}].nodePort: provided port is already allocated`, [
          {
            path: `spec.ports[${i}].nodePort`,
            message: `Invalid value: ${nodePort}: provided port is already allocated (by ${holder ?? me})`,
          },
        ]);
      used.set(nodePort, me);
      taken.add(`${nodePort}/${protocol}`);
    };
    const ports = spec.ports.map((p, i) => {
      const requested = p.nodePort ?? spec.ports.find((o) => o.port === p.port && o.nodePort)?.nodePort;
      const kept = current?.ports.find((c) => c.port === p.port && c.protocol === p.protocol)?.nodePort;
      const shared = byPort.get(p.port);
      const nodePort =
        requested ??
        shared ??
        (kept !== undefined && !used.has(kept) && !taken.has(`${kept}/${p.protocol}`) ? kept : free(used));
      take(nodePort, p.protocol, i);
      byPort.set(p.port, nodePort);
      return { ...p, nodePort };
    });
    return { ...spec, ports };
  }
}

function free(used: ReadonlyMap<number, string>): number {
  const size = NODE_PORT_RANGE.max - NODE_PORT_RANGE.min + 1;
  if (used.size >= size)
    throw new BerthError("QUOTA_EXCEEDED", "the cluster's node port range 30000-32767 has no free port left");
  const start = randomInt(size);
  for (let i = 0; i < size; i++) {
    const port = NODE_PORT_RANGE.min + ((start + i) % size);
    if (!used.has(port)) return port;
  }
  throw new BerthError("QUOTA_EXCEEDED", "the cluster's node port range 30000-32767 has no free port left");
}

/** Where a cluster's node ports are served: its ready nodes' addresses, each once. */
export async function readyNodeAddresses(tx: Tx, clusterId: string): Promise<string[]> {
  const rows = await tx
    .select({ address: nodes.address })
    .from(nodes)
    .where(and(eq(nodes.clusterId, clusterId), eq(nodes.status, "ready")))
    .orderBy(asc(nodes.address));
  return [...new Set(rows.map((r) => r.address))];
}

/** How a row is rendered: a NodePort Service's condition names its ready nodes' addresses. */
export async function serviceRenderOptions(
  tx: Tx,
  row: { kind: string; clusterId: string; spec: unknown },
  known?: { addresses?: string[] },
): Promise<{ nodeAddresses?: string[] }> {
  if (row.kind !== "Service" || (row.spec as { type?: string }).type !== "NodePort") return {};
  if (known) known.addresses ??= await readyNodeAddresses(tx, row.clusterId);
  return { nodeAddresses: known?.addresses ?? (await readyNodeAddresses(tx, row.clusterId)) };
}
