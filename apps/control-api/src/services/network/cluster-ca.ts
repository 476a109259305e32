import { decryptSecret, encryptSecret, type MasterKey, newId } from "@berth/core";
import { clusterCas, type Tx } from "@berth/db";
import { CLUSTER_CA_LIFETIME_MS } from "@berth/protocol";
import { and, desc, eq, gt, sql } from "drizzle-orm";
import { createClusterCa } from "./tunnel-ca";

/** A new CA is made when the newest has lived this share of its life. */
const ROTATE_AT = 2 / 3;
/**
 * A new CA is in every node's bundle (their network view, read every second or so) this long before
 * it signs a node certificate, so that no node meets a certificate of a CA it does not trust yet.
 */
export const CA_PUBLISH_MS = 3600_000;

export interface ClusterTrust {
  /** The CA that signs node certificates now, its private key opened. */
  issuer: { id: string; certificatePem: string; privateKeyPem: string };
  /** Every unexpired CA of the cluster, newest first, PEM. */
  bundle: string[];
}

const sealContext = (id: string) => `cluster-ca:${id}`;

const unexpired = (tx: Tx, clusterId: string, now: Date) =>
  tx
    .select()
    .from(clusterCas)
    .where(and(eq(clusterCas.clusterId, clusterId), gt(clusterCas.notAfter, now)))
    .orderBy(desc(clusterCas.notBefore));

const rotationDue = (ca: { notBefore: Date; notAfter: Date } | undefined, now: Date) =>
  !ca ||
  now.getTime() >= ca.notBefore.getTime() + (ca.notAfter.getTime() - ca.notBefore.getTime()) * ROTATE_AT;

/**
 * The cluster's CAs, made on first need and rotated when the newest has lived 2/3 of its life (one
 * transaction at a time per cluster decides, under an advisory lock). Returns the CAs that are
 * trusted; the private keys stay sealed.
 */
async function ensureCas(
  tx: Tx,
  master: MasterKey,
  owner: { tenantId: string; clusterId: string },
  now: Date,
) {
  let rows = await unexpired(tx, owner.clusterId, now);
  if (!rotationDue(rows[0], now)) return rows;
  await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${sealContext(owner.clusterId)}, 0))`);
  rows = await unexpired(tx, owner.clusterId, now);
  if (!rotationDue(rows[0], now)) return rows;
  const id = newId("clusterCa", now.getTime());
  const ca = await createClusterCa(owner.clusterId, now, CLUSTER_CA_LIFETIME_MS);
  await tx.insert(clusterCas).values({
    id,
    tenantId: owner.tenantId,
    clusterId: owner.clusterId,
    certificatePem: ca.certificatePem,
    privateKeyEnc: encryptSecret(master, ca.privateKeyPem, sealContext(id)),
    notBefore: ca.notBefore,
    notAfter: ca.notAfter,
    createdAt: now,
  });
  return unexpired(tx, owner.clusterId, now);
}

/** The CAs a node of the cluster trusts now, newest first (made or rotated when due). */
export async function clusterCaBundle(
  tx: Tx,
  master: MasterKey,
  owner: { tenantId: string; clusterId: string },
  now: Date,
): Promise<string[]> {
  return (await ensureCas(tx, master, owner, now)).map((r) => r.certificatePem);
}

/**
 * The CAs and the one that signs now: the newest that has been in the bundle for `CA_PUBLISH_MS`
 * (the only one, when the cluster has just got its first).
 */
export async function clusterTrust(
  tx: Tx,
  master: MasterKey,
  owner: { tenantId: string; clusterId: string },
  now: Date,
): Promise<ClusterTrust> {
  const rows = await ensureCas(tx, master, owner, now);
  const published = rows.find((r) => now.getTime() - r.createdAt.getTime() >= CA_PUBLISH_MS);
  const issuer = published ?? rows[rows.length - 1];
  if (!issuer) throw new Error(`cluster ${owner.clusterId} has no CA`);
  return {
    issuer: {
      id: issuer.id,
      certificatePem: issuer.certificatePem,
      privateKeyPem: decryptSecret(master, issuer.privateKeyEnc, sealContext(issuer.id)),
    },
    bundle: rows.map((r) => r.certificatePem),
  };
}
