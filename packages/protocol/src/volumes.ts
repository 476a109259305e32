import { z } from "zod";

/**
 * A pod's volumes as the agent builds them. ConfigMap and Secret volumes arrive with their files
 * already resolved by the control plane (only the pod's own, only on its node); secret files are
 * kept on tmpfs, never on the node's disk.
 */
export const volumeFileSchema = z.object({
  /** Relative path inside the volume (no `..`, no leading `/`). */
  path: z.string(),
  /** The content, base64. */
  data: z.string(),
  /** Permission bits, e.g. 0o644 (420). */
  mode: z.number().int().min(0).max(0o777),
});
export type VolumeFile = z.output<typeof volumeFileSchema>;

export const volumeSchema = z.discriminatedUnion("type", [
  z.object({
    name: z.string(),
    type: z.literal("emptyDir"),
    /** "Memory": tmpfs, counted against the pod's memory. */
    medium: z.enum(["", "Memory"]).default(""),
    sizeLimitBytes: z.number().int().positive().optional(),
  }),
  z.object({
    name: z.string(),
    type: z.enum(["configMap", "secret"]),
    files: z.array(volumeFileSchema),
  }),
  z.object({
    name: z.string(),
    type: z.literal("persistentVolumeClaim"),
    claimId: z.string(),
    /** The serial of the claim's disk as the node sees it (`/sys/block/<dev>/serial`): `diskSerialOf(claimId)`. */
    serial: z.string().regex(/^[0-9a-z_]{1,20}$/),
    readOnly: z.boolean().default(false),
  }),
]);
export type Volume = z.output<typeof volumeSchema>;

export const volumeMountSchema = z.object({
  name: z.string(),
  mountPath: z.string(),
  readOnly: z.boolean().default(false),
  /** A path inside the volume to mount instead of its root. */
  subPath: z.string().optional(),
});
export type VolumeMount = z.output<typeof volumeMountSchema>;

/**
 * The serial a claim's disk carries when it is attached to a node (virtio-blk's `serial`): the
 * claim's id without its prefix, its last 20 characters (virtio-blk keeps at most 20 bytes of a
 * serial). The id's 16 random characters are all in it.
 */
export function diskSerialOf(claimId: string): string {
  const body = claimId.replace(/^[a-z]+_/, "");
  return body.slice(-20);
}
