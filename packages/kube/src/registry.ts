import type { z } from "zod";
import { horizontalPodAutoscalerSchema, normaliseHorizontalPodAutoscaler } from "./kinds/autoscaling";
import {
  configMapSchema,
  namespaceSchema,
  normaliseConfigMap,
  normaliseSecret,
  secretSchema,
} from "./kinds/config";
import { deploymentSchema, normaliseDeployment } from "./kinds/deployment";
import { ingressSchema, normaliseIngress } from "./kinds/ingress";
import { cronJobSchema, jobSchema, normaliseCronJob, normaliseJobSpec } from "./kinds/job";
import { networkPolicySchema, normaliseNetworkPolicy } from "./kinds/network-policy";
import {
  limitRangeSchema,
  normaliseLimitRange,
  normaliseResourceQuota,
  resourceQuotaSchema,
} from "./kinds/policy";
import {
  normalisePodDisruptionBudget,
  normalisePriorityClass,
  podDisruptionBudgetSchema,
  priorityClassSchema,
} from "./kinds/scheduling";
import { normaliseService, serviceSchema } from "./kinds/service";
import { normalisePersistentVolumeClaim, persistentVolumeClaimSchema } from "./kinds/storage";
import type { ResourcePolicy } from "./pod/limit-range";
import type { PriorityClassRef } from "./pod/priority";

/** What admission knows of the object's namespace: its LimitRanges, merged (none: the platform's rules). */
export interface AdmissionContext {
  resources?: ResourcePolicy;
  /** The cluster's PriorityClasses, for pod templates' `priorityClassName` (none: only `priority`). */
  priorityClasses?: readonly PriorityClassRef[];
}

/**
 * Every kind of object Berth serves, in Kubernetes' terms: its group/version, kind, plural
 * resource name (the REST path segment), whether it lives in a namespace, the schema it is written
 * in and how it becomes its stored spec. The REST and tRPC operations, IAM actions
 * (`<iamPrefix>:Apply`, …) and `apply` are built from this list.
 */
export interface KindInfo<S extends z.ZodType = z.ZodType, Spec = unknown> {
  apiVersion: string;
  kind: string;
  plural: string;
  namespaced: boolean;
  /** IAM service of its actions: `configmap:Apply`, `secret:ReadValue`, … */
  iamPrefix: string;
  schema: S;
  /** Admission: the stored spec, or a ValidationError (a FORBIDDEN BerthError for policy) naming the field. */
  normalise: (input: z.output<S>, name: string, ctx?: AdmissionContext) => Spec;
}

function kind<S extends z.ZodType, Spec>(info: KindInfo<S, Spec>): KindInfo<S, Spec> {
  return info;
}

export const KINDS = {
  Namespace: kind({
    apiVersion: "v1",
    kind: "Namespace",
    plural: "namespaces",
    namespaced: false,
    iamPrefix: "namespace",
    schema: namespaceSchema,
    normalise: () => ({}),
  }),
  ConfigMap: kind({
    apiVersion: "v1",
    kind: "ConfigMap",
    plural: "configmaps",
    namespaced: true,
    iamPrefix: "configmap",
    schema: configMapSchema,
    normalise: (c) => normaliseConfigMap(c),
  }),
  Secret: kind({
    apiVersion: "v1",
    kind: "Secret",
    plural: "secrets",
    namespaced: true,
    iamPrefix: "secret",
    schema: secretSchema,
    normalise: (s) => normaliseSecret(s),
  }),
  ResourceQuota: kind({
    apiVersion: "v1",
    kind: "ResourceQuota",
    plural: "resourcequotas",
    namespaced: true,
    iamPrefix: "resourcequota",
    schema: resourceQuotaSchema,
    normalise: (q) => normaliseResourceQuota(q),
  }),
  LimitRange: kind({
    apiVersion: "v1",
    kind: "LimitRange",
    plural: "limitranges",
    namespaced: true,
    iamPrefix: "limitrange",
    schema: limitRangeSchema,
    normalise: (l) => normaliseLimitRange(l),
  }),
  PriorityClass: kind({
    apiVersion: "scheduling.k8s.io/v1",
    kind: "PriorityClass",
    plural: "priorityclasses",
    namespaced: false,
    iamPrefix: "priorityclass",
    schema: priorityClassSchema,
    normalise: (p, name) => normalisePriorityClass(p, name),
  }),
  PodDisruptionBudget: kind({
    apiVersion: "policy/v1",
    kind: "PodDisruptionBudget",
    plural: "poddisruptionbudgets",
    namespaced: true,
    iamPrefix: "poddisruptionbudget",
    schema: podDisruptionBudgetSchema,
    normalise: (p) => normalisePodDisruptionBudget(p),
  }),
  PersistentVolumeClaim: kind({
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    plural: "persistentvolumeclaims",
    namespaced: true,
    iamPrefix: "persistentvolumeclaim",
    schema: persistentVolumeClaimSchema,
    normalise: (c) => normalisePersistentVolumeClaim(c),
  }),
  Service: kind({
    apiVersion: "v1",
    kind: "Service",
    plural: "services",
    namespaced: true,
    iamPrefix: "service",
    schema: serviceSchema,
    normalise: (s, name) => normaliseService(s, name),
  }),
  NetworkPolicy: kind({
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    plural: "networkpolicies",
    namespaced: true,
    iamPrefix: "networkpolicy",
    schema: networkPolicySchema,
    normalise: (n) => normaliseNetworkPolicy(n),
  }),
  Ingress: kind({
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    plural: "ingresses",
    namespaced: true,
    iamPrefix: "ingress",
    schema: ingressSchema,
    normalise: (i) => normaliseIngress(i),
  }),
  Deployment: kind({
    apiVersion: "apps/v1",
    kind: "Deployment",
    plural: "deployments",
    namespaced: true,
    iamPrefix: "deployment",
    schema: deploymentSchema,
    normalise: (d, name, ctx) => normaliseDeployment(d, name, ctx?.resources, ctx?.priorityClasses),
  }),
  Job: kind({
    apiVersion: "batch/v1",
    kind: "Job",
    plural: "jobs",
    namespaced: true,
    iamPrefix: "job",
    schema: jobSchema,
    normalise: (j, _name, ctx) => normaliseJobSpec(j.spec, "spec", ctx?.resources, ctx?.priorityClasses),
  }),
  CronJob: kind({
    apiVersion: "batch/v1",
    kind: "CronJob",
    plural: "cronjobs",
    namespaced: true,
    iamPrefix: "cronjob",
    schema: cronJobSchema,
    normalise: (c, _name, ctx) => normaliseCronJob(c, ctx?.resources, ctx?.priorityClasses),
  }),
  HorizontalPodAutoscaler: kind({
    apiVersion: "autoscaling/v2",
    kind: "HorizontalPodAutoscaler",
    plural: "horizontalpodautoscalers",
    namespaced: true,
    iamPrefix: "horizontalpodautoscaler",
    schema: horizontalPodAutoscalerSchema,
    normalise: (h) => normaliseHorizontalPodAutoscaler(h),
  }),
} as const;

export type KindName = keyof typeof KINDS;
export const KIND_NAMES = Object.keys(KINDS) as KindName[];

/** The kind a document declares (`apiVersion` + `kind`), or undefined. */
export function kindOf(apiVersion: unknown, kindName: unknown): KindInfo | undefined {
  const k = KINDS[kindName as KindName] as KindInfo | undefined;
  return k && k.apiVersion === apiVersion ? k : undefined;
}
