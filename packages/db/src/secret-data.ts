import { randomBytes } from "node:crypto";
import { decryptSecret, encryptSecret, type MasterKey } from "@berth/core";
import { eq } from "drizzle-orm";
import type { Tx } from "./client";
import { clusters } from "./schema";

/**
 * Secrets are envelope-encrypted at rest under their cluster's data key: each Secret's values get a
 * key of their own, wrapped by the cluster's data key, which is itself wrapped by the platform's
 * master key. Deleting a cluster destroys its data key, and with it every Secret it held.
 */
type ClusterKeyRow = { id: string; dataKeyEnc: string | null };

const dataKeyContext = (clusterId: string) => `cluster-data-key:${clusterId}`;
const secretContext = (objectId: string) => `secret:${objectId}`;

function unwrap(master: MasterKey, cluster: { id: string; dataKeyEnc: string }): MasterKey {
  const key = Buffer.from(decryptSecret(master, cluster.dataKeyEnc, dataKeyContext(cluster.id)), "base64");
  return { id: `cdk-${cluster.id.slice(-8)}`, key };
}

/** The cluster's data key, made (in the caller's transaction, row locked) on first use. */
export async function clusterDataKey(tx: Tx, master: MasterKey, clusterId: string): Promise<MasterKey> {
  const [row] = await tx
    .select({ id: clusters.id, dataKeyEnc: clusters.dataKeyEnc })
    .from(clusters)
    .where(eq(clusters.id, clusterId))
    .for("no key update");
  if (!row) throw new Error(`cluster ${clusterId} is gone`);
  if (row.dataKeyEnc) return unwrap(master, { id: row.id, dataKeyEnc: row.dataKeyEnc });
  const dataKeyEnc = encryptSecret(master, randomBytes(32).toString("base64"), dataKeyContext(row.id));
  await tx.update(clusters).set({ dataKeyEnc }).where(eq(clusters.id, row.id));
  return unwrap(master, { id: row.id, dataKeyEnc });
}

/** A Secret's values (key → base64), sealed for the `objects.dataEnc` column of object `objectId`. */
export function sealSecretData(key: MasterKey, objectId: string, data: Record<string, string>): string {
  return encryptSecret(key, JSON.stringify(data), secretContext(objectId));
}

/** The values of a sealed Secret; `cluster` is the cluster row (its data key must exist). */
export function openSecretData(
  master: MasterKey,
  cluster: ClusterKeyRow,
  objectId: string,
  dataEnc: string,
): Record<string, string> {
  if (!cluster.dataKeyEnc) throw new Error(`cluster ${cluster.id} has no data key`);
  const key = unwrap(master, { id: cluster.id, dataKeyEnc: cluster.dataKeyEnc });
  return JSON.parse(decryptSecret(key, dataEnc, secretContext(objectId))) as Record<string, string>;
}
