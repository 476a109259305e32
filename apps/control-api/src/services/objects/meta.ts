import { type ObjectMetaInput, ownerReferenceSchema } from "@berth/kube";
import { z } from "zod";
import { stringMap, timestamp } from "../replies";

/**
 * Annotations the server writes on what it answers and ignores on what it is sent, so that a
 * GET → edit → PUT never stores them as the user's own (as Kubernetes does for
 * `deployment.kubernetes.io/revision`).
 */
export const REVISION_ANNOTATION = "deployment.kubernetes.io/revision";
/** On a Secret read without `secret:ReadValue`: its values are hidden (each shown as ""). */
export const REDACTED_ANNOTATION = "berth.io/data-redacted";
const SERVER_ANNOTATIONS = new Set([REVISION_ANNOTATION, REDACTED_ANNOTATION]);

export function userAnnotations(a: Record<string, string> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(a ?? {}).filter(([k]) => !SERVER_ANNOTATIONS.has(k)));
}

/** The metadata of a written object that the user owns: labels, annotations, owner references. */
export interface UserMeta {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  ownerReferences: Record<string, unknown>[];
  /** The optimistic-concurrency precondition, when given. */
  resourceVersion: string | undefined;
}

export function userMetaOf(m: ObjectMetaInput | undefined): UserMeta {
  return {
    labels: m?.labels ?? {},
    annotations: userAnnotations(m?.annotations),
    ownerReferences: (m?.ownerReferences ?? []) as Record<string, unknown>[],
    resourceVersion: m?.resourceVersion,
  };
}

/** What every stored object knows of itself, in the form `renderMeta` needs. */
export interface MetaSource {
  uid: string;
  name: string;
  namespace: string;
  resourceVersion: number;
  generation: number;
  createdAt: Date;
  deletionTimestamp: Date | null;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  ownerReferences: Record<string, unknown>[];
}

/** Kubernetes' `metadata` of a stored cluster-scoped object, as `renderMeta` writes it. */
export const clusterScopedMetaReply = z.strictObject({
  name: z.string(),
  uid: z.string(),
  resourceVersion: z.string(),
  generation: z.number().int(),
  creationTimestamp: timestamp,
  deletionTimestamp: timestamp.nullable(),
  labels: stringMap,
  annotations: stringMap,
  ownerReferences: z.array(ownerReferenceSchema),
  /** Kubernetes' finalizers: what must happen before the object goes (a claim's `kubernetes.io/pvc-protection`). */
  finalizers: z.array(z.string()).optional(),
});
/** The same of a namespaced object. */
export const namespacedMetaReply = clusterScopedMetaReply.extend({ namespace: z.string() });

/** Kubernetes' `metadata` (a cluster-scoped object has no namespace). */
export function renderMeta(
  o: MetaSource,
  namespaced: boolean,
  extraAnnotations: Record<string, string> = {},
) {
  return {
    name: o.name,
    ...(namespaced ? { namespace: o.namespace } : {}),
    uid: o.uid,
    resourceVersion: String(o.resourceVersion),
    generation: o.generation,
    creationTimestamp: o.createdAt.toISOString(),
    deletionTimestamp: o.deletionTimestamp?.toISOString() ?? null,
    labels: o.labels,
    annotations: { ...o.annotations, ...extraAnnotations },
    ownerReferences: o.ownerReferences,
  };
}
