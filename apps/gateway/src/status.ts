import { ingressHosts, loadBalancerPorts, objects, type Tx } from "@berth/db";
import { eq, inArray, sql } from "drizzle-orm";
import type { Condition, GatewayConfig } from "./config";
import type { ServiceView, Snapshot } from "./snapshot";

/** Where the gateway is reached from outside: its address and its ports. */
export interface Address {
  ip: string;
  httpPort: number;
  httpsPort: number;
  /** `type: LoadBalancer` services get ports from here, one per service port. */
  lbPorts: { min: number; max: number };
}

/** A LoadBalancer service port's gateway port: `${serviceUid}/${servicePort}` → port. */
export type LbAllocations = Map<string, number>;
export const lbKey = (serviceUid: string, servicePort: number) => `${serviceUid}/${servicePort}`;

/**
 * Gives every port of every `type: LoadBalancer` Service a gateway port of its own and takes back
 * the ports of Services that are gone (cascade), no longer LoadBalancers, or lost the port. An
 * allocation is keyed by the Service's uid and port number, so re-applying the Service keeps it.
 * The port is the table's primary key: two gateways allocating at once cannot share one.
 */
export async function allocateLbPorts(
  tx: Tx,
  snapshot: Snapshot,
  address: Address,
  /** Ports something else on this host holds: allocations there are moved. */
  busy: ReadonlySet<number> = new Set(),
): Promise<LbAllocations> {
  const wanted = new Map<string, { s: ServiceView; port: number }>();
  for (const s of snapshot.services.values())
    if (s.spec.type === "LoadBalancer")
      for (const p of s.spec.ports) wanted.set(lbKey(s.uid, p.port), { s, port: p.port });
  const rows = await tx.select().from(loadBalancerPorts);
  const out: LbAllocations = new Map();
  const stale: number[] = [];
  for (const r of rows) {
    const key = lbKey(r.objectId, r.servicePort);
    if (wanted.has(key) && r.port >= address.lbPorts.min && r.port <= address.lbPorts.max)
      out.set(key, r.port);
    else stale.push(r.port);
  }
  if (stale.length > 0) await tx.delete(loadBalancerPorts).where(inArray(loadBalancerPorts.port, stale));
  const used = new Set(out.values());
  let next = address.lbPorts.min;
  for (const [key, { s, port }] of wanted) {
    if (out.has(key)) continue;
    while (next <= address.lbPorts.max) {
      const candidate = next++;
      if (used.has(candidate) || busy.has(candidate)) continue;
      const [got] = await tx
        .insert(loadBalancerPorts)
        .values({
          port: candidate,
          tenantId: s.tenantId,
          clusterId: s.clusterId,
          objectId: s.uid,
          servicePort: port,
        })
        .onConflictDoNothing()
        .returning({ port: loadBalancerPorts.port });
      if (got) {
        out.set(key, got.port);
        used.add(got.port);
        break;
      }
    }
  }
  return out;
}

/** Keeps a condition's lastTransitionTime while its status stays the same. */
function withTimes(next: Condition[], before: unknown, now: Date) {
  const prior = new Map(
    ((before as { type: string; status: string; lastTransitionTime?: string }[]) ?? []).map((c) => [
      c.type,
      c,
    ]),
  );
  return next.map((c) => {
    const p = prior.get(c.type);
    return {
      ...c,
      lastTransitionTime:
        p && p.status === c.status && p.lastTransitionTime ? p.lastTransitionTime : now.toISOString(),
    };
  });
}

const loadBalancer = (ip: string, ports: number[]) => ({
  ingress: [
    { ip, ...(ports.length > 0 ? { ports: ports.map((port) => ({ port, protocol: "TCP" as const })) } : {}) },
  ],
});

async function writeStatus(tx: Tx, id: string, status: Record<string, unknown>): Promise<void> {
  await tx
    .update(objects)
    .set({ status, resourceVersion: sql`nextval('resource_versions')` })
    .where(eq(objects.id, id));
}

/** JSON with keys sorted at every level: jsonb keeps its own key order, so compare this way. */
function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === "object")
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, canonical((v as Record<string, unknown>)[k])]),
    );
  return v;
}
const same = (a: unknown, b: unknown) => JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));

/**
 * Writes where each Ingress and LoadBalancer Service is served (`status.loadBalancer`, as
 * Kubernetes' controllers do: the gateway's address, and `ports` where they are not 80/443) and
 * the Ingresses' conditions. Only what changed is written (a write moves the resourceVersion).
 */
export async function writeStatuses(
  tx: Tx,
  snapshot: Snapshot,
  config: GatewayConfig,
  allocations: LbAllocations,
  address: Address,
  now: Date,
): Promise<void> {
  const webPorts =
    address.httpPort === 80 && address.httpsPort === 443 ? [] : [address.httpPort, address.httpsPort];
  for (const i of snapshot.ingresses) {
    const conditions = config.conditions.get(i.uid) ?? [];
    const served = conditions.find((c) => c.type === "berth.io/Served")?.status === "True";
    const next = {
      loadBalancer: served ? loadBalancer(address.ip, webPorts) : {},
      conditions: withTimes(conditions, i.status.conditions, now),
    };
    if (!same(next, i.status)) await writeStatus(tx, i.uid, next);
  }
  for (const s of snapshot.services.values()) {
    if (s.spec.type !== "LoadBalancer") continue;
    const ports = s.spec.ports
      .map((p) => allocations.get(lbKey(s.uid, p.port)))
      .filter((p) => p !== undefined);
    const next =
      ports.length === s.spec.ports.length ? { loadBalancer: loadBalancer(address.ip, ports) } : {};
    if (!same(next, s.status)) await writeStatus(tx, s.uid, next);
  }
}

/**
 * Claims of clusters being deleted and claims no Ingress lists any more (a namespace deleted with
 * its Ingresses) are released, so the host can be claimed again.
 */
export async function sweepHostClaims(tx: Tx): Promise<void> {
  await tx.delete(ingressHosts).where(
    sql`exists (select 1 from clusters c where c.id = ${ingressHosts.clusterId} and c.status in ('deleting', 'deleted'))
      or not exists (select 1 from objects o, jsonb_array_elements(o.spec->'rules') r
        where o.cluster_id = ${ingressHosts.clusterId} and o.kind = 'Ingress' and r->>'host' = ${ingressHosts.host})`,
  );
}
