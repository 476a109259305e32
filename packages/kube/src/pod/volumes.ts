import { text } from "@berth/protocol";
import { z } from "zod";
import { dnsLabelName, dnsSubdomainName } from "../meta";

/** A path inside a volume: relative, no `..` element. */
const relativePath = z
  .string()
  .min(1)
  .max(4096)
  .refine((p) => !p.startsWith("/") && !p.split("/").includes(".."), "must be a relative path without '..'");
const mode = z.number().int().min(0).max(0o777);
const items = z
  .array(z.object({ key: text(253, 1), path: relativePath, mode: mode.optional() }).strict())
  .max(256);

/** Kinds of volume a tenant may not have: they reach into the node or need what Berth does not offer yet. */
const refused = (why: string) => z.never({ error: why }).optional();

export const volumeInputSchema = z
  .object({
    name: dnsLabelName,
    configMap: z
      .object({
        name: dnsSubdomainName,
        items: items.optional(),
        defaultMode: mode.optional(),
        optional: z.boolean().optional(),
      })
      .strict()
      .optional(),
    secret: z
      .object({
        secretName: dnsSubdomainName,
        items: items.optional(),
        defaultMode: mode.optional(),
        optional: z.boolean().optional(),
      })
      .strict()
      .optional(),
    emptyDir: z
      .object({
        medium: z.enum(["", "Memory"]).optional(),
        sizeLimit: z.union([z.string().max(32), z.number()]).optional(),
      })
      .strict()
      .optional(),
    hostPath: refused(
      "hostPath volumes are not allowed: they reach into the node (Pod Security: restricted)",
    ),
    persistentVolumeClaim: z
      .object({ claimName: dnsSubdomainName, readOnly: z.boolean().optional() })
      .strict()
      .optional(),
    projected: refused("projected volumes are not supported; use configMap or secret volumes"),
    downwardAPI: refused("downwardAPI volumes are not supported; use env fieldRef"),
    nfs: refused("nfs volumes are not allowed (Pod Security: restricted)"),
  })
  .strict()
  .refine(
    (v) =>
      [v.configMap, v.secret, v.emptyDir, v.persistentVolumeClaim].filter((x) => x !== undefined).length ===
      1,
    "a volume needs exactly one of configMap, secret, emptyDir or persistentVolumeClaim",
  );
export type VolumeInput = z.infer<typeof volumeInputSchema>;

export const volumeMountInputSchema = z
  .object({
    name: dnsLabelName,
    mountPath: z
      .string()
      .min(1)
      .max(4096)
      .refine(
        (p) => p.startsWith("/") && !p.split("/").includes(".."),
        "must be an absolute path without '..'",
      ),
    readOnly: z.boolean().optional(),
    subPath: relativePath.optional(),
    mountPropagation: z.enum(["None"]).optional(),
  })
  .strict();
export type VolumeMountInput = z.infer<typeof volumeMountInputSchema>;
