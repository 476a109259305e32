import { index, pgTable, text, timestamp } from "drizzle-orm/pg-core";
import { clusterRef } from "./clusters";
import { tenantRef } from "./tenant";
import { createdAt } from "./timestamps";

/**
 * A cluster's tunnel CAs: the roots of trust of its nodes' mutual TLS. The control plane makes one
 * on first need and another when the newest has lived 2/3 of its life; nodes trust every unexpired
 * one and are issued certificates by the newest. The private key is sealed with the master key
 * (`encryptSecret(master, pkcs8, "cluster-ca:<id>")`) and never leaves the control plane.
 */
export const clusterCas = pgTable(
  "cluster_cas",
  {
    id: text().primaryKey(),
    tenantId: tenantRef(),
    clusterId: clusterRef(),
    certificatePem: text().notNull(),
    privateKeyEnc: text().notNull(),
    notBefore: timestamp({ withTimezone: true }).notNull(),
    notAfter: timestamp({ withTimezone: true }).notNull(),
    createdAt: createdAt(),
  },
  (t) => [index("cluster_cas_cluster_idx").on(t.clusterId, t.notAfter)],
);
