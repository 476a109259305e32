import { BerthError, formatMemoryBytes, parseMemoryBytes } from "@berth/core";
import { z } from "zod";
import { dnsSubdomainName, objectMetaSchema } from "../meta";
import { ignored, invalid } from "./common";

/** The largest claim Berth provisions: one qcow2 file on the node host's disk. */
export const MAX_CLAIM_BYTES = 100 * 1024 ** 3;
/** The smallest: ext4 wants a few MiB for itself. */
export const MIN_CLAIM_BYTES = 16 * 1024 ** 2;

/** The access modes Kubernetes knows; Berth's disks give ReadWriteOnce only. */
const ACCESS_MODES = ["ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"] as const;

/**
 * v1 PersistentVolumeClaim: `spec.accessModes` (ReadWriteOnce only: a disk attached to one node at
 * a time), `spec.resources.requests.storage` (a quantity, 16Mi to 100Gi), `spec.storageClassName`
 * (optional: Berth has one class of storage, the node pool's local disks), `volumeMode: Filesystem`.
 */
export const persistentVolumeClaimSchema = z
  .object({
    apiVersion: z.literal("v1").optional(),
    kind: z.literal("PersistentVolumeClaim").optional(),
    metadata: objectMetaSchema.optional(),
    spec: z
      .object({
        accessModes: z.array(z.enum(ACCESS_MODES)).min(1).max(4),
        resources: z
          .object({
            requests: z.object({ storage: z.union([z.string().max(32), z.number()]) }).strict(),
            limits: z
              .object({ storage: z.union([z.string().max(32), z.number()]) })
              .strict()
              .optional(),
          })
          .strict(),
        storageClassName: dnsSubdomainName.optional(),
        volumeMode: z.enum(["Filesystem"], { error: "only volumeMode Filesystem is supported" }).optional(),
        volumeName: ignored,
        selector: z
          .never({ error: "selector is not supported: claims are provisioned, not matched" })
          .optional(),
        dataSource: z.never({ error: "dataSource is not supported" }).optional(),
        dataSourceRef: z.never({ error: "dataSourceRef is not supported" }).optional(),
      })
      .strict(),
    status: ignored,
  })
  .strict();
export type PersistentVolumeClaimInput = z.infer<typeof persistentVolumeClaimSchema>;

/** A claim as stored. `storageBytes` is what it asked for and what its disk holds. */
export interface PersistentVolumeClaimSpec {
  accessModes: ["ReadWriteOnce"];
  storageBytes: number;
  storageClassName: string | null;
  volumeMode: "Filesystem";
}

export function normalisePersistentVolumeClaim(c: PersistentVolumeClaimInput): PersistentVolumeClaimSpec {
  const other = c.spec.accessModes.find((m) => m !== "ReadWriteOnce");
  if (other)
    throw new BerthError(
      "UNSUPPORTED_ACCESS_MODE",
      `spec.accessModes: ${other} is not supported: Berth's disks attach to one node at a time (ReadWriteOnce)`,
      { details: { issues: [{ path: "spec.accessModes", message: `${other} is not supported` }] } },
    );
  const bytes = parseMemoryBytes(c.spec.resources.requests.storage, "spec.resources.requests.storage");
  if (bytes < MIN_CLAIM_BYTES || bytes > MAX_CLAIM_BYTES)
    invalid(
      "spec.resources.requests.storage",
      `must be between ${formatMemoryBytes(MIN_CLAIM_BYTES)} and ${formatMemoryBytes(MAX_CLAIM_BYTES)} (got ${formatMemoryBytes(bytes)})`,
    );
  const limit = c.spec.resources.limits?.storage;
  if (limit !== undefined && parseMemoryBytes(limit, "spec.resources.limits.storage") < bytes)
    invalid("spec.resources.limits.storage", "must not be less than the request");
  return {
    accessModes: ["ReadWriteOnce"],
    storageBytes: bytes,
    storageClassName: c.spec.storageClassName ?? null,
    volumeMode: "Filesystem",
  };
}

/** The protection finalizer every claim carries (Kubernetes' storage-object-in-use protection). */
export const PVC_PROTECTION_FINALIZER = "kubernetes.io/pvc-protection";

/** A claim's `spec` as GET answers it (what PUT accepts back). */
export function renderPersistentVolumeClaimSpec(s: PersistentVolumeClaimSpec): Record<string, unknown> {
  return {
    accessModes: s.accessModes,
    resources: { requests: { storage: formatMemoryBytes(s.storageBytes) } },
    ...(s.storageClassName !== null ? { storageClassName: s.storageClassName } : {}),
    volumeMode: s.volumeMode,
  };
}

/** What the volume controller writes of a claim: Bound once its disk exists. */
export interface ClaimStatus {
  phase?: "Pending" | "Bound" | "Lost";
  /** The bytes of the disk made for it. */
  capacityBytes?: number;
}

/** A claim's `status`: Pending until its disk is made, then Bound with the disk's capacity. */
export function renderClaimStatus(
  s: PersistentVolumeClaimSpec,
  stored: ClaimStatus,
): Record<string, unknown> {
  if (stored.phase !== "Bound" && stored.phase !== "Lost") return { phase: "Pending" };
  return {
    phase: stored.phase,
    accessModes: s.accessModes,
    capacity: { storage: formatMemoryBytes(stored.capacityBytes ?? s.storageBytes) },
  };
}
