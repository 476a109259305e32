import { bigint, index, pgTable, text, timestamp } from "drizzle-orm/pg-core";
import { clusterRef } from "./clusters";
import { tenantRef } from "./tenant";
import { createdAt } from "./timestamps";

/**
 * The disk of a PersistentVolumeClaim (its PersistentVolume, in Kubernetes' terms) and where it is
 * attached (its VolumeAttachment): one row per claim, keyed by the claim's uid, written by the
 * provisioner's volume controller before and after each step, so that a step interrupted at any
 * line (kill -9) is found and finished, never done twice. A disk is attached to at most one node
 * (ReadWriteOnce): `nodeId`/`instanceId` say which, null while detached.
 */
export const persistentVolumes = pgTable(
  "persistent_volumes",
  {
    /** The claim's uid (`objects.id`). */
    claimId: text().primaryKey(),
    tenantId: tenantRef(),
    clusterId: clusterRef(),
    namespace: text().notNull(),
    claimName: text().notNull(),
    /** Which machine provider holds the disk (local-vm: a qcow2 file of the provisioner's host). */
    provider: text({ enum: ["local-vm"] }).notNull(),
    sizeBytes: bigint({ mode: "number" }).notNull(),
    /** The node the disk is attached to, and its machine's instance (null: detached). */
    nodeId: text(),
    instanceId: text(),
    /** Set before an attach is asked of the provider: an attach that died half-way is detached first. */
    attachingAt: timestamp({ withTimezone: true }),
    attachedAt: timestamp({ withTimezone: true }),
    createdAt: createdAt(),
  },
  (t) => [
    index("persistent_volumes_cluster_idx").on(t.clusterId),
    index("persistent_volumes_node_idx").on(t.nodeId),
  ],
);
