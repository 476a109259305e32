import { dnsLabelName, dnsSubdomainName, KINDS, type KindInfo, type KindName } from "@berth/kube";
import { z } from "zod";
import { brn } from "../../operation";

/** The kinds kept in the `objects` table (Deployments have a table of their own, Pods are made by controllers). */
export const OBJECT_KINDS = [
  "Namespace",
  "ConfigMap",
  "Secret",
  "ResourceQuota",
  "LimitRange",
  "Job",
  "CronJob",
  "PriorityClass",
  "PodDisruptionBudget",
  "HorizontalPodAutoscaler",
  "Service",
  "NetworkPolicy",
  "Ingress",
  "PersistentVolumeClaim",
] as const satisfies readonly KindName[];
export type ObjectKindName = (typeof OBJECT_KINDS)[number];
/** Cluster-scoped kinds besides Namespace (which has operations of its own). */
export type ClusterObjectKind = "PriorityClass";
export type NamespacedObjectKind = Exclude<ObjectKindName, "Namespace" | ClusterObjectKind>;

/** Path parameters: a namespace is a DNS label, most names DNS subdomains (Kubernetes' rules). */
export const namespaceParam = dnsLabelName;
export const objectNameParam = dnsSubdomainName;

export const kindInfo = (kind: KindName): KindInfo => KINDS[kind] as unknown as KindInfo;

/** IAM's lower-case name of a kind in resource names (`configmap`, `cronjob`). */
export const resourceKind = (kind: KindName): string => KINDS[kind].iamPrefix;

/**
 * The IAM resource of one object, the shape deployments always had:
 * `brn:berth:<t>:cluster/<id>/namespace/<ns>/<kind>/<name>`; a Namespace is
 * `…:cluster/<id>/namespace/<name>`; another cluster-scoped object `…:cluster/<id>/<kind>/<name>`.
 */
export function objectBrn(
  tenantId: string,
  clusterId: string,
  kind: KindName,
  namespace: string,
  name: string,
): string {
  if (kind === "Namespace") return brn(tenantId, `cluster/${clusterId}/namespace/${name}`);
  if (!KINDS[kind].namespaced) return brn(tenantId, `cluster/${clusterId}/${resourceKind(kind)}/${name}`);
  return brn(tenantId, `cluster/${clusterId}/namespace/${namespace}/${resourceKind(kind)}/${name}`);
}

/** `?dryRun=true` (or Kubernetes' `All`): do everything but commit. */
export const dryRunParam = z
  .union([z.boolean(), z.enum(["true", "false", "All"]).transform((v) => v !== "false")])
  .optional();

/** Kubernetes' words for a missing namespace (`namespaces "x" not found`). */
export const namespaceNotFound = (name: string) => `namespaces ${JSON.stringify(name)} not found`;
/** Kubernetes' name of a kind's resource in messages: `configmaps`, `deployments.apps`, `jobs.batch`. */
export function groupResource(kind: KindName): string {
  const k = KINDS[kind];
  return k.apiVersion.includes("/") ? `${k.plural}.${k.apiVersion.split("/")[0]}` : k.plural;
}

export const notFoundMessage = (kind: KindName, name: string) =>
  `${groupResource(kind)} ${JSON.stringify(name)} not found`;
