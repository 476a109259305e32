import {
  bigint,
  index,
  integer,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
} from "drizzle-orm/pg-core";
import { clusterRef } from "./clusters";
import { tenantRef } from "./tenant";
import { createdAt } from "./timestamps";
import { objects } from "./workloads";

/**
 * Host names claimed by Ingresses: one cluster holds a host (its Ingresses may share it), no other
 * cluster of any tenant may claim it. Unique across the platform; row-level security hides other
 * tenants' claims, the primary key still refuses them (`INSERT … ON CONFLICT DO NOTHING`).
 * A claim goes when no Ingress of its cluster lists the host any more.
 */
export const ingressHosts = pgTable(
  "ingress_hosts",
  {
    host: text().primaryKey(),
    tenantId: tenantRef(),
    clusterId: clusterRef(),
    createdAt: createdAt(),
  },
  (t) => [index("ingress_hosts_cluster_idx").on(t.clusterId)],
);

/**
 * The gateway's TCP port of each port of a `type: LoadBalancer` Service: allocated by the gateway,
 * unique, kept while the Service is a LoadBalancer with that port (its object id and port number
 * survive re-applies), gone with the Service (cascade) or when the gateway sees the type change.
 */
export const loadBalancerPorts = pgTable(
  "load_balancer_ports",
  {
    port: integer().primaryKey(),
    tenantId: tenantRef(),
    clusterId: clusterRef(),
    objectId: text()
      .notNull()
      .references(() => objects.id, { onDelete: "cascade" }),
    servicePort: integer().notNull(),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex("load_balancer_ports_service_key").on(t.objectId, t.servicePort)],
);

/**
 * Requests the gateway served per Ingress, rule (host + path) and status class, per minute:
 * counts and a latency histogram (cumulative-free bucket counts, bounds in INGRESS_LATENCY_BUCKETS_MS).
 * The gateway adds to the row of the current minute every few seconds; tenants read their own.
 */
export const ingressRouteStats = pgTable(
  "ingress_route_stats",
  {
    tenantId: tenantRef(),
    clusterId: clusterRef(),
    objectId: text()
      .notNull()
      .references(() => objects.id, { onDelete: "cascade" }),
    host: text().notNull(),
    path: text().notNull(),
    statusClass: text({ enum: ["1xx", "2xx", "3xx", "4xx", "5xx"] }).notNull(),
    minute: timestamp({ withTimezone: true }).notNull(),
    requests: bigint({ mode: "number" }).notNull(),
    bytes: bigint({ mode: "number" }).notNull(),
    durationMsSum: bigint({ mode: "number" }).notNull(),
    /** Requests per latency bucket (not cumulative), one more than the bounds (the last: above them). */
    latencyBuckets: bigint({ mode: "number" }).array().notNull(),
  },
  (t) => [primaryKey({ columns: [t.objectId, t.host, t.path, t.statusClass, t.minute] })],
);

/** Upper bounds (ms) of the route latency histogram's buckets; a last bucket counts the rest. */
export const INGRESS_LATENCY_BUCKETS_MS = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000] as const;
