import {
  configMapSchema,
  cronJobSchema,
  horizontalPodAutoscalerSchema,
  ingressSchema,
  jobSpecSchema,
  KINDS,
  type KindName,
  limitRangeSchema,
  networkPolicySchema,
  persistentVolumeClaimSchema,
  podDisruptionBudgetSchema,
  priorityClassSchema,
  resourceQuotaSchema,
  SECRET_TYPES,
  secretSchema,
  serviceSchema,
} from "@berth/kube";
import { z } from "zod";
import { condition, timestamp } from "../replies";
import { deploymentReply } from "./deployment-view";
import { clusterScopedMetaReply, namespacedMetaReply } from "./meta";

/**
 * The reply of each kind's operations (PUT, GET, DELETE; lists are pages of it): the kind's
 * manifest schema — what is answered is what GET → edit → PUT sends back — with the fields the
 * server always fills in made required, its metadata, and the status its controller writes.
 */
function head<K extends KindName>(kind: K) {
  const k = KINDS[kind];
  return {
    apiVersion: z.literal(k.apiVersion),
    kind: z.literal(kind),
    metadata: k.namespaced ? namespacedMetaReply : clusterScopedMetaReply,
  };
}

/** A status a controller has not written yet (a new Job or CronJob), or one a write answers without (a budget's). */
const unset = z.strictObject({});
const count = z.number().int();

/** A status condition without times (budgets', Services'), as Kubernetes shows the ones computed on read. */
const computedCondition = condition.omit({ lastTransitionTime: true, lastUpdateTime: true });

/** core/v1 LoadBalancerStatus: where the platform's gateway serves an Ingress or a LoadBalancer Service. */
const loadBalancerStatus = z.strictObject({
  ingress: z
    .array(
      z.strictObject({
        ip: z.string(),
        ports: z
          .array(z.strictObject({ port: count, protocol: z.literal("TCP"), error: z.string().optional() }))
          .optional(),
      }),
    )
    .optional(),
});

const jobSpecReply = jobSpecSchema.required({
  completions: true,
  parallelism: true,
  backoffLimit: true,
  completionMode: true,
  suspend: true,
});

/** batch/v1 JobStatus, as the job controller writes it. */
const jobStatus = z.strictObject({
  active: count,
  ready: count,
  succeeded: count,
  failed: count,
  startTime: timestamp.optional(),
  completionTime: timestamp.optional(),
  conditions: z.array(
    condition.omit({ lastUpdateTime: true }).extend({
      type: z.enum(["Complete", "Failed", "Suspended"]),
      status: z.enum(["True", "False"]),
      lastProbeTime: timestamp,
    }),
  ),
});

/** batch/v1 CronJobStatus: its running Jobs, when one was last scheduled and last succeeded. */
const cronJobStatus = z.strictObject({
  active: z.array(
    z.strictObject({
      apiVersion: z.literal("batch/v1"),
      kind: z.literal("Job"),
      name: z.string(),
      namespace: z.string(),
      uid: z.string(),
    }),
  ),
  lastScheduleTime: timestamp.optional(),
  lastSuccessfulTime: timestamp.optional(),
});

const cronJobSpec = cronJobSchema.shape.spec;
const quotaAmounts = resourceQuotaSchema.shape.spec.shape.hard;
const serviceSpec = serviceSchema.shape.spec;

export const objectReplies = {
  Namespace: z.strictObject({
    ...head("Namespace"),
    spec: z.strictObject({ finalizers: z.array(z.string()) }),
    status: z.strictObject({ phase: z.enum(["Active", "Terminating"]) }),
  }),
  ConfigMap: configMapSchema.extend(head("ConfigMap")),
  Secret: secretSchema
    .omit({ stringData: true })
    .extend({ ...head("Secret"), type: z.enum(SECRET_TYPES) })
    .describe('Its values are "" (annotation berth.io/data-redacted) except from secrets.reveal'),
  ResourceQuota: resourceQuotaSchema.extend({
    ...head("ResourceQuota"),
    spec: z.strictObject({ hard: quotaAmounts }),
    status: z
      .strictObject({ hard: quotaAmounts, used: quotaAmounts.optional() })
      .describe("`used`: the namespace's usage now, on reads (a write answers without it)"),
  }),
  LimitRange: limitRangeSchema.extend(head("LimitRange")),
  Job: z.strictObject({
    ...head("Job"),
    spec: jobSpecReply,
    status: z.union([jobStatus, unset]),
  }),
  CronJob: z.strictObject({
    ...head("CronJob"),
    spec: cronJobSpec
      .extend({ jobTemplate: cronJobSpec.shape.jobTemplate.extend({ spec: jobSpecReply }) })
      .required({
        timeZone: true,
        concurrencyPolicy: true,
        successfulJobsHistoryLimit: true,
        failedJobsHistoryLimit: true,
        suspend: true,
      }),
    status: z.union([cronJobStatus, unset]),
  }),
  PriorityClass: priorityClassSchema.extend(head("PriorityClass")).required({ preemptionPolicy: true }),
  PodDisruptionBudget: podDisruptionBudgetSchema.extend({
    ...head("PodDisruptionBudget"),
    status: z
      .union([
        z.strictObject({
          observedGeneration: count,
          currentHealthy: count,
          desiredHealthy: count,
          disruptionsAllowed: count,
          expectedPods: count,
          conditions: z.array(computedCondition),
        }),
        unset,
      ])
      .describe("Worked out from the namespace's pods on reads; a write answers {}"),
  }),
  HorizontalPodAutoscaler: horizontalPodAutoscalerSchema.extend({
    ...head("HorizontalPodAutoscaler"),
    spec: horizontalPodAutoscalerSchema.shape.spec.required({
      minReplicas: true,
      metrics: true,
      behavior: true,
    }),
    status: z.strictObject({
      observedGeneration: count.optional(),
      currentReplicas: count,
      desiredReplicas: count,
      currentMetrics: z
        .array(
          z.strictObject({
            type: z.literal("Resource"),
            resource: z.strictObject({
              name: z.enum(["cpu", "memory"]),
              current: z.strictObject({
                averageValue: z.string(),
                averageUtilization: count.optional(),
              }),
            }),
          }),
        )
        .optional(),
      lastScaleTime: timestamp.optional(),
      conditions: z.array(condition).optional(),
    }),
  }),
  Service: serviceSchema.extend({
    ...head("Service"),
    spec: serviceSpec.required({
      type: true,
      clusterIP: true,
      clusterIPs: true,
      ipFamilies: true,
      ipFamilyPolicy: true,
      sessionAffinity: true,
      internalTrafficPolicy: true,
    }),
    status: z.strictObject({
      loadBalancer: loadBalancerStatus,
      conditions: z
        .array(computedCondition)
        .optional()
        .describe(
          "berth.io/ExternallyReachable: NodePort, where its node ports are served; LoadBalancer, whether the platform's gateway serves it",
        ),
    }),
  }),
  Ingress: ingressSchema.extend({
    ...head("Ingress"),
    status: z.strictObject({
      loadBalancer: loadBalancerStatus,
      conditions: z
        .array(condition.omit({ lastUpdateTime: true }))
        .optional()
        .describe("Written by the gateway: what it serves (Ready) and why not (TLS secret missing, …)"),
    }),
  }),
  NetworkPolicy: networkPolicySchema.omit({ status: true }).extend({
    ...head("NetworkPolicy"),
    spec: networkPolicySchema.shape.spec.required({ policyTypes: true }),
  }),
  PersistentVolumeClaim: persistentVolumeClaimSchema.omit({ status: true }).extend({
    ...head("PersistentVolumeClaim"),
    spec: z.strictObject({
      accessModes: z.array(z.literal("ReadWriteOnce")),
      resources: z.strictObject({ requests: z.strictObject({ storage: z.string() }) }),
      storageClassName: z.string().optional(),
      volumeMode: z.literal("Filesystem"),
      volumeName: z.string().optional(),
    }),
    status: z.strictObject({
      phase: z.enum(["Pending", "Bound", "Lost"]),
      accessModes: z.array(z.literal("ReadWriteOnce")).optional(),
      capacity: z.strictObject({ storage: z.string() }).optional(),
    }),
  }),
  Deployment: deploymentReply,
} satisfies Record<KindName, z.ZodType>;
