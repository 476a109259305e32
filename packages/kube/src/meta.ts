import { labelKey, labelMap, text } from "@berth/protocol";
import { z } from "zod";

/**
 * `metadata` of every object, as Kubernetes tools write it. What the server owns (`uid`,
 * `creationTimestamp`, `generation`, `managedFields`, `selfLink`, `deletionTimestamp`, …) is
 * accepted and ignored, so that GET → edit → PUT round-trips; `resourceVersion`, when given, is
 * the optimistic-concurrency check of the write. Anything else unknown is refused, naming it.
 */
export const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
export const DNS_LABEL_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export const dnsLabelName = z.string().min(1).max(63).regex(DNS_LABEL_RE, "must be a DNS label (RFC 1123)");
export const dnsSubdomainName = z
  .string()
  .min(1)
  .max(253)
  .regex(DNS_SUBDOMAIN, "must be a DNS subdomain (RFC 1123)");

/** Annotations: label-syntax keys, any text as values, 256 KiB in all (Kubernetes' limit). */
export const annotationMap = z
  .record(labelKey, text(262_144))
  .refine(
    (m) => Object.entries(m).reduce((n, [k, v]) => n + k.length + v.length, 0) <= 262_144,
    "annotations may hold at most 256 KiB in all",
  );

const ignored = z.unknown().optional();

export const ownerReferenceSchema = z
  .object({
    apiVersion: text(253, 1),
    kind: text(63, 1),
    name: text(253, 1),
    uid: text(64, 1),
    controller: z.boolean().optional(),
    blockOwnerDeletion: z.boolean().optional(),
  })
  .strict();

function metaWith(name: z.ZodString) {
  return z
    .object({
      name: name.optional(),
      /** Set by kubectl for generated names; Berth needs a name. */
      generateName: z.never({ error: "generateName is not supported; give metadata.name" }).optional(),
      namespace: dnsLabelName.optional(),
      labels: labelMap.optional(),
      annotations: annotationMap.optional(),
      resourceVersion: z
        .string()
        .regex(/^\d{1,19}$/, "must be a resourceVersion")
        .optional(),
      ownerReferences: z.array(ownerReferenceSchema).max(16).optional(),
      finalizers: z.array(text(253, 1)).max(16).optional(),
      // Server-owned: accepted so that GET → edit → PUT works, never stored from the request.
      uid: ignored,
      creationTimestamp: ignored,
      deletionTimestamp: ignored,
      deletionGracePeriodSeconds: ignored,
      generation: ignored,
      managedFields: ignored,
      selfLink: ignored,
    })
    .strict();
}

/** Most kinds: names are DNS subdomains. */
export const objectMetaSchema = metaWith(dnsSubdomainName);
/** Namespaces, Services, …: names are DNS labels. */
export const labelNamedMetaSchema = metaWith(dnsLabelName);
export type ObjectMetaInput = z.infer<typeof objectMetaSchema>;

/** The metadata a stored object carries, in Kubernetes' shape. */
export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid: string;
  resourceVersion: string;
  generation: number;
  creationTimestamp: string;
  deletionTimestamp?: string | null;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  ownerReferences?: z.infer<typeof ownerReferenceSchema>[];
}

/** `status` and other server-owned top-level fields a client may send back: accepted and ignored. */
export const serverOwnedTopLevel = { status: ignored } as const;
