import { generateSigningKey, type JobPayload } from "@berth/core";
import { clusters, recordEvent, withTenant } from "@berth/db";
import { NODE_CREDENTIAL_TTL_SECONDS } from "@berth/protocol";
import { eq } from "drizzle-orm";
import type { Deps } from "../deps";
import { clusterKeyColumns } from "./cluster-key";

/** How long node credentials live, plus clock skew. */
const PREVIOUS_KEY_GRACE_MS = NODE_CREDENTIAL_TTL_SECONDS * 1000 + 60_000;

/**
 * Rotates a cluster's signing key (`updating` → `active`): the new key signs every credential
 * from now on; the previous one keeps verifying the credentials it signed until they expire.
 * Agents receive a credential of the new key on their next sync. One transaction: idempotent.
 */
export async function rotateClusterKey(deps: Deps, p: JobPayload<"cluster.rotate-key">): Promise<void> {
  const key = await generateSigningKey();
  await withTenant(deps.db, p.tenantId, async (tx) => {
    const [c] = await tx.select().from(clusters).where(eq(clusters.id, p.clusterId)).for("no key update");
    if (c?.status !== "updating") return;
    const now = deps.now();
    await tx
      .update(clusters)
      .set({
        status: "active",
        statusReason: null,
        ...clusterKeyColumns(deps.master, c.id, key),
        previousPublicJwk: c.signingPublicJwk,
        previousKeyRetireAt: new Date(now.getTime() + PREVIOUS_KEY_GRACE_MS),
      })
      .where(eq(clusters.id, c.id));
    await recordEvent(tx, {
      tenantId: c.tenantId,
      clusterId: c.id,
      objectKind: "Cluster",
      objectName: c.name,
      reason: "KeyRotated",
      message: `new signing key ${key.kid}; the previous one verifies existing node credentials for another hour`,
    });
  });
}
