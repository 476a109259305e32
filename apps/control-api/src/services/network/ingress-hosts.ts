import { BerthError, ConflictError } from "@berth/core";
import { ingressHosts, type Tx } from "@berth/db";
import { ingressHosts as hostsOf, type IngressSpec } from "@berth/kube";
import { and, eq, inArray, sql } from "drizzle-orm";

/** The platform's apps domain when BERTH_APPS_DOMAIN is not set. */
export const DEFAULT_APPS_DOMAIN = "apps.berth.localhost";

/**
 * A tenant's own subdomain of the apps domain: its id as a DNS label (`ten_01…` → `ten-01…`), so
 * `*.ten-01….apps.berth.localhost` is the tenant's and nobody else's, with nothing to register.
 */
export const tenantAppsDomain = (tenantId: string, appsDomain: string) =>
  `${tenantId.replaceAll("_", "-").toLowerCase()}.${appsDomain}`;

const forbiddenHost = (path: string, message: string) =>
  new BerthError("FORBIDDEN", `${path}: ${message}`, { details: { issues: [{ path, message }] } });

/**
 * Which hosts a tenant may name: a wildcard only under its own subdomain of the apps domain
 * (`*.<tenant>.<apps domain>`), and nothing under the apps domain but its own subdomain. Any other
 * exact host may be claimed by whoever claims it first (see claimIngressHosts).
 */
export function checkIngressHostPolicy(spec: IngressSpec, tenantId: string, appsDomain: string): void {
  const own = tenantAppsDomain(tenantId, appsDomain);
  const check = (host: string, path: string) => {
    const name = host.startsWith("*.") ? host.slice(2) : host;
    const underOwn = name === own || name.endsWith(`.${own}`);
    if (host.startsWith("*.") && !underOwn)
      throw forbiddenHost(
        path,
        `wildcard host ${JSON.stringify(host)} is not allowed: wildcards are only allowed under the tenant's own subdomain, e.g. "*.${own}"`,
      );
    if ((name === appsDomain || name.endsWith(`.${appsDomain}`)) && !underOwn)
      throw forbiddenHost(
        path,
        `host ${JSON.stringify(host)} is in the platform's apps domain but not under the tenant's own subdomain ${JSON.stringify(own)}`,
      );
  };
  spec.rules.forEach((r, i) => {
    if (r.host) check(r.host, `spec.rules[${i}].host`);
  });
  spec.tls.forEach((t, i) => {
    t.hosts.forEach((h, j) => {
      check(h, `spec.tls[${i}].hosts[${j}]`);
    });
  });
}

/**
 * Claims the hosts of an Ingress for its cluster, in the caller's (tenant) transaction. The claim
 * table's primary key is the host across the platform; row-level security hides other tenants'
 * rows, and `ON CONFLICT DO NOTHING` lets the key refuse them without reading them. A host the
 * insert did not take is either already this cluster's (visible to the tenant) or someone else's:
 * 409 HOST_CLAIMED.
 */
export async function claimIngressHosts(
  tx: Tx,
  owner: { tenantId: string; clusterId: string },
  spec: IngressSpec,
): Promise<void> {
  const hosts = hostsOf(spec);
  if (hosts.length === 0) return;
  const taken = await tx
    .insert(ingressHosts)
    .values(hosts.map((host) => ({ host, tenantId: owner.tenantId, clusterId: owner.clusterId })))
    .onConflictDoNothing()
    .returning({ host: ingressHosts.host });
  const got = new Set(taken.map((t) => t.host));
  const rest = hosts.filter((h) => !got.has(h));
  if (rest.length === 0) return;
  const visible = await tx
    .select({ host: ingressHosts.host, clusterId: ingressHosts.clusterId })
    .from(ingressHosts)
    .where(inArray(ingressHosts.host, rest));
  const holder = new Map(visible.map((v) => [v.host, v.clusterId]));
  for (const host of rest) {
    const cluster = holder.get(host);
    if (cluster === owner.clusterId) continue;
    const i = spec.rules.findIndex((r) => r.host === host);
    throw new ConflictError(
      `spec.rules[${i}].host: host ${JSON.stringify(host)} is already claimed by ${cluster ? `another cluster of this tenant (${cluster})` : "another tenant"}; a host is served for one cluster only`,
      "HOST_CLAIMED",
    );
  }
}

/** Gives back the cluster's claims that none of its Ingresses lists any more (after a write or delete). */
export async function releaseIngressHosts(tx: Tx, clusterId: string): Promise<void> {
  await tx.delete(ingressHosts).where(
    and(
      eq(ingressHosts.clusterId, clusterId),
      sql`not exists (select 1 from objects o, jsonb_array_elements(o.spec->'rules') r
        where o.cluster_id = ${ingressHosts.clusterId} and o.kind = 'Ingress' and r->>'host' = ${ingressHosts.host})`,
    ),
  );
}
