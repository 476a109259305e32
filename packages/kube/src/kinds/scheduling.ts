import { text } from "@berth/protocol";
import { z } from "zod";
import { objectMetaSchema } from "../meta";
import { podLabelSelectorSchema } from "../pod/affinity";
import { ignored, invalid, selectorMatches } from "./common";

/** The highest value a PriorityClass of a tenant may have (kube's HighestUserDefinablePriority). */
export const HIGHEST_USER_DEFINABLE_PRIORITY = 1_000_000_000;

/**
 * scheduling.k8s.io/v1 PriorityClass: cluster-scoped; `value`, `globalDefault`,
 * `preemptionPolicy`, `description` at the top level, as Kubernetes has them.
 */
export const priorityClassSchema = z
  .object({
    apiVersion: z.literal("scheduling.k8s.io/v1").optional(),
    kind: z.literal("PriorityClass").optional(),
    metadata: objectMetaSchema.optional(),
    value: z
      .number()
      .int()
      .min(-(2 ** 31))
      .max(HIGHEST_USER_DEFINABLE_PRIORITY, {
        error: `maximum allowed value of a user defined priority is ${HIGHEST_USER_DEFINABLE_PRIORITY}`,
      }),
    globalDefault: z.boolean().optional(),
    preemptionPolicy: z.enum(["PreemptLowerPriority", "Never"]).optional(),
    description: text(2048).optional(),
  })
  .strict();
export type PriorityClassInput = z.infer<typeof priorityClassSchema>;

export interface PriorityClassSpec {
  value: number;
  globalDefault: boolean;
  preemptionPolicy: "PreemptLowerPriority" | "Never";
  description: string;
}

export function normalisePriorityClass(p: PriorityClassInput, name: string): PriorityClassSpec {
  if (name.startsWith("system-"))
    invalid("metadata.name", "priority class names with 'system-' prefix are reserved");
  return {
    value: p.value,
    globalDefault: p.globalDefault ?? false,
    preemptionPolicy: p.preemptionPolicy ?? "PreemptLowerPriority",
    description: p.description ?? "",
  };
}

/** The top-level fields of a PriorityClass as Kubernetes shows them (omitempty as there). */
export function renderPriorityClassFields(s: PriorityClassSpec): Record<string, unknown> {
  return {
    value: s.value,
    ...(s.globalDefault ? { globalDefault: true } : {}),
    preemptionPolicy: s.preemptionPolicy,
    ...(s.description ? { description: s.description } : {}),
  };
}

/** Kubernetes' IntOrString of a budget: a non-negative integer or a percentage up to 100%. */
const budgetValue = z.union([
  z
    .number()
    .int()
    .min(0, { error: "must be greater than or equal to 0" })
    .max(2 ** 31 - 1),
  z
    .string()
    .regex(
      /^[0-9]+%$/,
      "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')",
    )
    .refine((v) => Number(v.slice(0, -1)) <= 100, "must not be greater than 100%"),
]);
export type BudgetValue = z.infer<typeof budgetValue>;

/** policy/v1 PodDisruptionBudget. */
export const podDisruptionBudgetSchema = z
  .object({
    apiVersion: z.literal("policy/v1").optional(),
    kind: z.literal("PodDisruptionBudget").optional(),
    metadata: objectMetaSchema.optional(),
    spec: z
      .object({
        minAvailable: budgetValue.optional(),
        maxUnavailable: budgetValue.optional(),
        selector: podLabelSelectorSchema.optional(),
        unhealthyPodEvictionPolicy: z.enum(["IfHealthyBudget", "AlwaysAllow"]).optional(),
      })
      .strict(),
    status: ignored,
  })
  .strict();
export type PodDisruptionBudgetInput = z.infer<typeof podDisruptionBudgetSchema>;

export interface PodDisruptionBudgetSpec {
  minAvailable?: BudgetValue;
  maxUnavailable?: BudgetValue;
  /** Absent: no pod; `{}`: every pod of the namespace (policy/v1). */
  selector?: z.infer<typeof podLabelSelectorSchema>;
  unhealthyPodEvictionPolicy?: "IfHealthyBudget" | "AlwaysAllow";
}

export function normalisePodDisruptionBudget(p: PodDisruptionBudgetInput): PodDisruptionBudgetSpec {
  const s = p.spec;
  if (s.minAvailable !== undefined && s.maxUnavailable !== undefined)
    invalid("spec", "minAvailable and maxUnavailable cannot be both set");
  return {
    ...(s.minAvailable !== undefined ? { minAvailable: s.minAvailable } : {}),
    ...(s.maxUnavailable !== undefined ? { maxUnavailable: s.maxUnavailable } : {}),
    ...(s.selector !== undefined ? { selector: s.selector } : {}),
    ...(s.unhealthyPodEvictionPolicy !== undefined
      ? { unhealthyPodEvictionPolicy: s.unhealthyPodEvictionPolicy }
      : {}),
  };
}

/** A budget's `spec` as Kubernetes shows it. */
export function renderPodDisruptionBudgetSpec(s: PodDisruptionBudgetSpec): Record<string, unknown> {
  return { ...s };
}

/** kube's PodDisruptionBudgetStatus (without conditions' times, which the caller adds). */
export interface PodDisruptionBudgetStatus {
  currentHealthy: number;
  desiredHealthy: number;
  disruptionsAllowed: number;
  expectedPods: number;
}

const scaled = (v: BudgetValue, total: number): number =>
  typeof v === "number" ? v : Math.ceil((Number(v.slice(0, -1)) * total) / 100);

/**
 * The disruption controller's arithmetic: `expectedPods` is the number of selected pods for an
 * integer minAvailable, else the replicas their controllers want (`expectedScale`, worked out by
 * the caller); percentages round up; with neither field nothing needs to stay healthy.
 */
export function podDisruptionBudgetStatus(
  spec: PodDisruptionBudgetSpec,
  selected: { pods: number; healthy: number; expectedScale: number },
): PodDisruptionBudgetStatus {
  let expectedPods = selected.pods;
  let desiredHealthy = 0;
  if (spec.maxUnavailable !== undefined) {
    expectedPods = selected.expectedScale;
    desiredHealthy = Math.max(0, expectedPods - scaled(spec.maxUnavailable, expectedPods));
  } else if (spec.minAvailable !== undefined) {
    if (typeof spec.minAvailable === "number") desiredHealthy = spec.minAvailable;
    else {
      expectedPods = selected.expectedScale;
      desiredHealthy = scaled(spec.minAvailable, expectedPods);
    }
  }
  return {
    currentHealthy: selected.healthy,
    desiredHealthy,
    disruptionsAllowed: Math.max(0, selected.healthy - desiredHealthy),
    expectedPods,
  };
}

/** A pod as a budget counts it. */
export interface BudgetPod {
  labels: Record<string, string>;
  /** Ready (kube's healthy pod). */
  ready: boolean;
  /** Deleted or finished: not counted. */
  gone: boolean;
  /** The Deployment that owns it, if any. */
  deploymentId: string | null;
}

/**
 * The pods of one namespace a budget selects (a budget without selector selects none, `{}` every
 * pod, as in policy/v1), how many are healthy, and the scale their controllers want: a
 * Deployment's pods count as its `replicas`, any other pod as itself.
 */
export function budgetSelection(
  spec: PodDisruptionBudgetSpec,
  pods: readonly BudgetPod[],
  replicasOf: (deploymentId: string) => number | undefined,
): { pods: number; healthy: number; expectedScale: number } {
  if (!spec.selector) return { pods: 0, healthy: 0, expectedScale: 0 };
  const selector = spec.selector;
  const chosen = pods.filter((p) => !p.gone && selectorMatches(selector, p.labels));
  const owners = new Set<string>();
  let expectedScale = 0;
  for (const p of chosen) {
    if (p.deploymentId === null) expectedScale += 1;
    else if (!owners.has(p.deploymentId)) {
      owners.add(p.deploymentId);
      expectedScale += replicasOf(p.deploymentId) ?? 0;
    }
  }
  return { pods: chosen.length, healthy: chosen.filter((p) => p.ready).length, expectedScale };
}
