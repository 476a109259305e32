import type { MasterKey } from "@berth/core";
import { clusters, endpointPods, objects, openSecretData, type Tx } from "@berth/db";
import {
  type EndpointPod,
  endpointSlicesOf,
  endpointsOfPort,
  type IngressSpec,
  type ServiceSpec,
} from "@berth/kube";
import { and, eq, inArray } from "drizzle-orm";

/** A ready endpoint a backend port forwards to: the pod's address and its resolved target port. */
export interface Endpoint {
  ip: string;
  port: number;
  podName: string;
}

export interface ServiceView {
  uid: string;
  tenantId: string;
  clusterId: string;
  namespace: string;
  name: string;
  spec: ServiceSpec;
  status: Record<string, unknown>;
  /** Ready endpoints per service port number. */
  endpoints: Map<number, Endpoint[]>;
}

export interface IngressView {
  uid: string;
  tenantId: string;
  clusterId: string;
  namespace: string;
  name: string;
  spec: IngressSpec;
  status: Record<string, unknown>;
  createdAt: Date;
}

/** A `kubernetes.io/tls` (or other) Secret an Ingress names, opened. */
export interface SecretView {
  type: string;
  data: Record<string, string>;
}

/** Everything the gateway serves, read in one transaction of the system role. */
export interface Snapshot {
  ingresses: IngressView[];
  /** `clusterId/namespace/name` → the Service. */
  services: Map<string, ServiceView>;
  /** `clusterId/namespace/name` → a Secret named by an Ingress's `tls` (absent: it does not exist). */
  secrets: Map<string, SecretView>;
}

export const objectKey = (clusterId: string, namespace: string, name: string) =>
  `${clusterId}/${namespace}/${name}`;

/** The ready endpoints of each TCP port of a Service (the EndpointSlice logic of @berth/kube); the gateway carries no UDP. */
function endpointsOf(name: string, spec: ServiceSpec, pods: readonly EndpointPod[]): Map<number, Endpoint[]> {
  const slices = endpointSlicesOf(name, spec, pods);
  const out = new Map<number, Endpoint[]>();
  for (const p of spec.ports.filter((x) => x.protocol === "TCP"))
    out.set(
      p.port,
      endpointsOfPort(slices, p.name).map(({ endpoint: e, port }) => ({
        ip: e.addresses[0],
        port,
        podName: e.targetRef.name,
      })),
    );
  return out;
}

/**
 * Reads every operational cluster's Ingresses and `type: LoadBalancer` Services, the Services the
 * Ingresses route to with their ready endpoints, and the TLS Secrets they name (opened with the
 * cluster's data key). Only clusters with something to serve are read further.
 */
export async function readSnapshot(tx: Tx, master: MasterKey): Promise<Snapshot> {
  const live = await tx
    .select({ id: clusters.id, dataKeyEnc: clusters.dataKeyEnc })
    .from(clusters)
    .where(inArray(clusters.status, ["active", "updating"]));
  const keys = new Map(live.map((c) => [c.id, c]));
  const snapshot: Snapshot = { ingresses: [], services: new Map(), secrets: new Map() };
  if (live.length === 0) return snapshot;
  const rows = await tx
    .select()
    .from(objects)
    .where(and(inArray(objects.kind, ["Ingress", "Service"]), inArray(objects.clusterId, [...keys.keys()])));
  const ingresses = rows.filter((r) => r.kind === "Ingress");
  const services = rows.filter((r) => r.kind === "Service");
  const serving = new Set([
    ...ingresses.map((r) => r.clusterId),
    ...services
      .filter((s) => (s.spec as unknown as ServiceSpec).type === "LoadBalancer")
      .map((s) => s.clusterId),
  ]);
  const podsByCluster = new Map<string, EndpointPod[]>();
  for (const clusterId of serving) podsByCluster.set(clusterId, await endpointPods(tx, clusterId));
  for (const s of services) {
    if (!serving.has(s.clusterId)) continue;
    const spec = s.spec as unknown as ServiceSpec;
    const pods = (podsByCluster.get(s.clusterId) ?? []).filter((p) => p.namespace === s.namespace);
    snapshot.services.set(objectKey(s.clusterId, s.namespace, s.name), {
      uid: s.id,
      tenantId: s.tenantId,
      clusterId: s.clusterId,
      namespace: s.namespace,
      name: s.name,
      spec,
      status: s.status,
      endpoints: endpointsOf(s.name, spec, pods),
    });
  }
  const secretNames = new Map<string, Set<string>>();
  for (const i of ingresses) {
    const spec = i.spec as unknown as IngressSpec;
    snapshot.ingresses.push({
      uid: i.id,
      tenantId: i.tenantId,
      clusterId: i.clusterId,
      namespace: i.namespace,
      name: i.name,
      spec,
      status: i.status,
      createdAt: i.createdAt,
    });
    for (const t of spec.tls)
      if (t.secretName) {
        const set = secretNames.get(i.clusterId) ?? new Set<string>();
        set.add(`${i.namespace}/${t.secretName}`);
        secretNames.set(i.clusterId, set);
      }
  }
  for (const [clusterId, names] of secretNames) {
    const secretRows = await tx
      .select()
      .from(objects)
      .where(
        and(
          eq(objects.clusterId, clusterId),
          eq(objects.kind, "Secret"),
          inArray(
            objects.name,
            [...names].map((n) => n.split("/")[1] as string),
          ),
        ),
      );
    const cluster = keys.get(clusterId);
    for (const r of secretRows) {
      if (!names.has(`${r.namespace}/${r.name}`) || !cluster) continue;
      const data = r.dataEnc ? openSecretData(master, cluster, r.id, r.dataEnc) : {};
      snapshot.secrets.set(objectKey(clusterId, r.namespace, r.name), {
        type: String((r.spec as { type?: string }).type ?? "Opaque"),
        data,
      });
    }
  }
  snapshot.ingresses.sort(
    (a, b) => a.createdAt.getTime() - b.createdAt.getTime() || a.uid.localeCompare(b.uid),
  );
  return snapshot;
}
