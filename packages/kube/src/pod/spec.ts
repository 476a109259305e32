import { labelMap, text } from "@berth/protocol";
import { z } from "zod";
import { dnsLabelName, dnsSubdomainName } from "../meta";
import { affinitySchema, topologySpreadConstraintsSchema } from "./affinity";
import { containerInputSchema } from "./container";
import { podSecurityInputSchema } from "./security-context";
import { volumeInputSchema } from "./volumes";

const refused = (why: string) => z.never({ error: why }).optional();
const ignored = z.unknown().optional();

export const tolerationSchema = z
  .object({
    key: text(317).optional(),
    operator: z.enum(["Equal", "Exists"]).optional(),
    value: text(63).optional(),
    effect: z.enum(["NoSchedule", "PreferNoSchedule", "NoExecute"]).optional(),
    tolerationSeconds: z.number().int().optional(),
  })
  .strict();

/** A pod's `spec`, the shape Deployments, Jobs and CronJobs carry in their templates. */
export const podSpecInputSchema = z
  .object({
    containers: z.array(containerInputSchema).min(1).max(16),
    initContainers: z.array(containerInputSchema).max(16).optional(),
    volumes: z.array(volumeInputSchema).max(64).optional(),
    restartPolicy: z.enum(["Always", "OnFailure", "Never"]).optional(),
    terminationGracePeriodSeconds: z.number().int().min(0).max(3600).optional(),
    activeDeadlineSeconds: z
      .number()
      .int()
      .min(1)
      .max(2 ** 31 - 1)
      .optional(),
    nodeSelector: labelMap.optional(),
    tolerations: z.array(tolerationSchema).max(32).optional(),
    /**
     * With `priorityClassName`: must be the class's value (Kubernetes' rule). Without: Berth's own
     * shorthand, kept from before PriorityClasses; -1000..1000.
     */
    priority: z
      .number()
      .int()
      .min(-(2 ** 31))
      .max(2 ** 31 - 1)
      .optional(),
    priorityClassName: dnsSubdomainName.optional(),
    preemptionPolicy: z.enum(["PreemptLowerPriority", "Never"]).optional(),
    securityContext: podSecurityInputSchema.optional(),
    serviceAccountName: dnsSubdomainName.optional(),
    automountServiceAccountToken: z.boolean().optional(),
    /** The pod's hostname (else its name); with `subdomain`, its DNS name under that headless Service. */
    hostname: dnsLabelName.optional(),
    subdomain: dnsLabelName.optional(),
    dnsPolicy: z.enum(["ClusterFirst", "Default", "None", "ClusterFirstWithHostNet"]).optional(),
    enableServiceLinks: z.boolean().optional(),
    schedulerName: z.literal("default-scheduler").optional(),
    imagePullSecrets: z
      .array(z.object({ name: dnsSubdomainName }).strict())
      .max(16)
      .optional(),
    // Reaching into the node: never for tenants (Pod Security "baseline" and "restricted").
    hostNetwork: z
      .literal(false, { error: "hostNetwork is not allowed (Pod Security: restricted)" })
      .optional(),
    hostPID: z.literal(false, { error: "hostPID is not allowed (Pod Security: restricted)" }).optional(),
    hostIPC: z.literal(false, { error: "hostIPC is not allowed (Pod Security: restricted)" }).optional(),
    hostUsers: z.boolean().optional(),
    shareProcessNamespace: z.boolean().optional(),
    affinity: affinitySchema.optional(),
    topologySpreadConstraints: topologySpreadConstraintsSchema.optional(),
    nodeName: refused("nodeName is set by the scheduler"),
    runtimeClassName: refused("runtimeClassName is not supported"),
    overhead: ignored,
    readinessGates: refused("readinessGates are not supported"),
    ephemeralContainers: refused("ephemeralContainers are not supported; use exec"),
    dnsConfig: ignored,
    os: ignored,
  })
  .strict();
export type PodSpecInput = z.infer<typeof podSpecInputSchema>;

/** `template` of a Deployment, Job, …: its metadata (labels, annotations) and its pod spec. */
export const podTemplateInputSchema = z
  .object({
    metadata: z
      .object({
        labels: labelMap.optional(),
        annotations: z.record(z.string(), text(65_536)).optional(),
        name: ignored,
        namespace: ignored,
        creationTimestamp: ignored,
      })
      .strict()
      .optional(),
    spec: podSpecInputSchema,
  })
  .strict();
export type PodTemplateInput = z.infer<typeof podTemplateInputSchema>;
