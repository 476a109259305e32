import { formatCpuMillis, formatMemoryBytes, parseCpuMillis, parseMemoryBytes } from "@berth/core";
import { z } from "zod";
import { dnsSubdomainName, objectMetaSchema } from "../meta";
import { ignored, invalid } from "./common";

/**
 * HorizontalPodAutoscaler (autoscaling/v2): a Deployment's replicas follow its pods' CPU or memory,
 * as a utilisation of their requests or as an average value. Defaults as Kubernetes' own
 * (SetDefaults_HorizontalPodAutoscaler): minReplicas 1; scale up at once by the larger of 100 %
 * or 4 pods per 15 s; scale down by up to 100 % per 15 s, on the highest recommendation of the
 * last 300 s.
 */
const quantity = z.union([z.string().max(32), z.number().nonnegative()]);
const policySchema = z
  .object({
    type: z.enum(["Pods", "Percent"]),
    value: z.number().int().min(1).max(1_000_000),
    periodSeconds: z.number().int().min(1).max(1_800),
  })
  .strict();
const rulesSchema = z
  .object({
    stabilizationWindowSeconds: z.number().int().min(0).max(3_600).optional(),
    selectPolicy: z.enum(["Max", "Min", "Disabled"]).optional(),
    policies: z.array(policySchema).min(1).max(10).optional(),
  })
  .strict();
const targetSchema = z
  .object({
    type: z.enum(["Utilization", "AverageValue", "Value"]),
    averageUtilization: z.number().int().min(1).max(100_000).optional(),
    averageValue: quantity.optional(),
    value: quantity.optional(),
  })
  .strict();
const metricSchema = z
  .object({
    type: z.enum(["Resource", "Pods", "Object", "External", "ContainerResource"]),
    resource: z
      .object({ name: z.enum(["cpu", "memory"]), target: targetSchema })
      .strict()
      .optional(),
  })
  .passthrough();

export const horizontalPodAutoscalerSchema = z
  .object({
    apiVersion: z.literal("autoscaling/v2").optional(),
    kind: z.literal("HorizontalPodAutoscaler").optional(),
    metadata: objectMetaSchema.optional(),
    spec: z
      .object({
        scaleTargetRef: z
          .object({
            apiVersion: z.string().max(64).optional(),
            kind: z.string().max(64),
            name: dnsSubdomainName,
          })
          .strict(),
        minReplicas: z.number().int().min(1).max(10_000).optional(),
        maxReplicas: z.number().int().min(1).max(10_000),
        metrics: z.array(metricSchema).max(8).optional(),
        behavior: z
          .object({ scaleUp: rulesSchema.optional(), scaleDown: rulesSchema.optional() })
          .strict()
          .optional(),
      })
      .strict(),
    status: ignored,
  })
  .strict();
export type HorizontalPodAutoscalerInput = z.infer<typeof horizontalPodAutoscalerSchema>;

export type ScalingPolicy = z.infer<typeof policySchema>;
export interface ScalingRules {
  stabilizationWindowSeconds: number;
  selectPolicy: "Max" | "Min" | "Disabled";
  policies: ScalingPolicy[];
}
/** A Resource metric's target, in Berth's integers: a percentage of requests, or millicores / bytes per pod. */
export type ResourceTarget =
  | { resource: "cpu" | "memory"; type: "Utilization"; averageUtilization: number }
  | { resource: "cpu" | "memory"; type: "AverageValue"; averageValue: number };

export interface HorizontalPodAutoscalerSpec {
  scaleTargetRef: { apiVersion: string; kind: "Deployment"; name: string };
  minReplicas: number;
  maxReplicas: number;
  metrics: ResourceTarget[];
  behavior: { scaleUp: ScalingRules; scaleDown: ScalingRules };
}

export const DEFAULT_SCALE_UP: ScalingRules = {
  stabilizationWindowSeconds: 0,
  selectPolicy: "Max",
  policies: [
    { type: "Pods", value: 4, periodSeconds: 15 },
    { type: "Percent", value: 100, periodSeconds: 15 },
  ],
};
export const DEFAULT_SCALE_DOWN: ScalingRules = {
  stabilizationWindowSeconds: 300,
  selectPolicy: "Max",
  policies: [{ type: "Percent", value: 100, periodSeconds: 15 }],
};

function rules(input: z.infer<typeof rulesSchema> | undefined, defaults: ScalingRules): ScalingRules {
  return {
    stabilizationWindowSeconds: input?.stabilizationWindowSeconds ?? defaults.stabilizationWindowSeconds,
    selectPolicy: input?.selectPolicy ?? defaults.selectPolicy,
    policies: input?.policies ?? defaults.policies,
  };
}

export function normaliseHorizontalPodAutoscaler(
  h: HorizontalPodAutoscalerInput,
): HorizontalPodAutoscalerSpec {
  const s = h.spec;
  if (s.scaleTargetRef.kind !== "Deployment")
    invalid("spec.scaleTargetRef.kind", "only a Deployment can be scaled by Berth's autoscaler");
  if (s.scaleTargetRef.apiVersion !== undefined && s.scaleTargetRef.apiVersion !== "apps/v1")
    invalid("spec.scaleTargetRef.apiVersion", 'must be "apps/v1"');
  const minReplicas = s.minReplicas ?? 1;
  if (s.maxReplicas < minReplicas)
    invalid("spec.maxReplicas", "must be greater than or equal to minReplicas");
  const metrics = (
    s.metrics ?? [
      {
        type: "Resource",
        resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 80 } },
      },
    ]
  ).map((m, i): ResourceTarget => {
    const path = `spec.metrics[${i}]`;
    if (m.type !== "Resource" || !m.resource)
      invalid(`${path}.type`, "only Resource metrics (cpu, memory) are supported");
    const { name, target } = m.resource;
    if (target.type === "Utilization") {
      if (target.averageUtilization === undefined)
        invalid(`${path}.resource.target.averageUtilization`, "is required for a Utilization target");
      return { resource: name, type: "Utilization", averageUtilization: target.averageUtilization };
    }
    if (target.type === "AverageValue") {
      if (target.averageValue === undefined)
        invalid(`${path}.resource.target.averageValue`, "is required for an AverageValue target");
      const p = `${path}.resource.target.averageValue`;
      const value =
        name === "cpu" ? parseCpuMillis(target.averageValue, p) : parseMemoryBytes(target.averageValue, p);
      if (value <= 0) invalid(p, "must be positive");
      return { resource: name, type: "AverageValue", averageValue: value };
    }
    return invalid(
      `${path}.resource.target.type`,
      "a Resource metric's target is Utilization or AverageValue",
    );
  });
  return {
    scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: s.scaleTargetRef.name },
    minReplicas,
    maxReplicas: s.maxReplicas,
    metrics,
    behavior: {
      scaleUp: rules(s.behavior?.scaleUp, DEFAULT_SCALE_UP),
      scaleDown: rules(s.behavior?.scaleDown, DEFAULT_SCALE_DOWN),
    },
  };
}

/** The spec as Kubernetes shows it, defaults filled in. */
export function renderHorizontalPodAutoscalerSpec(s: HorizontalPodAutoscalerSpec): Record<string, unknown> {
  return {
    scaleTargetRef: s.scaleTargetRef,
    minReplicas: s.minReplicas,
    maxReplicas: s.maxReplicas,
    metrics: s.metrics.map((m) => ({
      type: "Resource",
      resource: {
        name: m.resource,
        target:
          m.type === "Utilization"
            ? { type: "Utilization", averageUtilization: m.averageUtilization }
            : { type: "AverageValue", averageValue: formatQuantity(m.resource, m.averageValue) },
      },
    })),
    behavior: s.behavior,
  };
}

export function formatQuantity(resource: "cpu" | "memory", value: number): string {
  return resource === "cpu" ? formatCpuMillis(value) : formatMemoryBytes(value);
}
