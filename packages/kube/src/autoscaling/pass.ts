import { formatQuantity, type HorizontalPodAutoscalerSpec, type ResourceTarget } from "../kinds/autoscaling";
import { type HpaHistory, normaliseWithBehavior, recordScale } from "./behavior";
import { HPA_TOLERANCE, type HpaPod, replicasForMetric } from "./replicas";

export interface HpaCondition {
  type: "AbleToScale" | "ScalingActive" | "ScalingLimited";
  status: "True" | "False";
  reason: string;
  message: string;
}

export interface HpaEvent {
  type: "Normal" | "Warning";
  reason: string;
  message: string;
}

/** kube's MetricStatus of a Resource metric. */
export interface ResourceMetricStatus {
  type: "Resource";
  resource: { name: "cpu" | "memory"; current: { averageValue: string; averageUtilization?: number } };
}

export interface HpaPassInput {
  spec: HorizontalPodAutoscalerSpec;
  now: number;
  /** The target's `spec.replicas`; null when the Deployment does not exist. */
  targetReplicas: number | null;
  pods: readonly HpaPod[];
  history: HpaHistory;
  tolerance?: number;
}

export interface HpaPassResult {
  /** Write this count to the target (null: leave it). */
  scaleTo: number | null;
  desiredReplicas: number;
  currentMetrics: ResourceMetricStatus[];
  /** Conditions this pass decided (the others keep what they were). */
  conditions: HpaCondition[];
  events: HpaEvent[];
  history: HpaHistory;
}

const metricName = (t: ResourceTarget) =>
  t.type === "Utilization"
    ? `${t.resource} resource utilization (percentage of request)`
    : `${t.resource} resource`;

/**
 * One pass of the horizontal pod autoscaler over one HPA (kube's reconcileAutoscaler), pure: the
 * target's scale and pods with their latest usage in; the count to write, the status, conditions
 * and events out. A target of 0 replicas disables autoscaling; a count outside [min, max] is
 * brought in at once; otherwise every metric proposes a count, the largest wins, and behavior
 * (stabilisation, policies) decides how far to go now.
 */
export function autoscalePass(input: HpaPassInput): HpaPassResult {
  const r = pass(input);
  // A later condition of a type replaces an earlier one (AbleToScale: got the scale, then rescaled).
  const byType = new Map(r.conditions.map((c) => [c.type, c] as const));
  return { ...r, conditions: [...byType.values()] };
}

function pass(input: HpaPassInput): HpaPassResult {
  const { spec, now } = input;
  const conditions: HpaCondition[] = [];
  const events: HpaEvent[] = [];
  const none = (desired: number, history = input.history): HpaPassResult => ({
    scaleTo: null,
    desiredReplicas: desired,
    currentMetrics: [],
    conditions,
    events,
    history,
  });
  if (input.targetReplicas === null) {
    const message = `the HPA controller was unable to get the target's current scale: deployments.apps "${spec.scaleTargetRef.name}" not found`;
    conditions.push({ type: "AbleToScale", status: "False", reason: "FailedGetScale", message });
    events.push({ type: "Warning", reason: "FailedGetScale", message });
    return none(0);
  }
  const current = input.targetReplicas;
  conditions.push({
    type: "AbleToScale",
    status: "True",
    reason: "SucceededGetScale",
    message: "the HPA controller was able to get the target's current scale",
  });
  if (current === 0 && spec.minReplicas !== 0) {
    conditions.push({
      type: "ScalingActive",
      status: "False",
      reason: "ScalingDisabled",
      message: "scaling is disabled since the replica count of the target is zero",
    });
    return none(0);
  }

  let desired: number;
  let why: string;
  const currentMetrics: ResourceMetricStatus[] = [];
  let history = input.history;
  if (current > spec.maxReplicas) {
    desired = spec.maxReplicas;
    why = "Current number of replicas above Spec.MaxReplicas";
  } else if (current < spec.minReplicas) {
    desired = spec.minReplicas;
    why = "Current number of replicas below Spec.MinReplicas";
  } else {
    let proposal = 0;
    let proposedBy = "";
    const errors: string[] = [];
    for (const m of spec.metrics) {
      const r = replicasForMetric(m, current, input.pods, input.tolerance ?? HPA_TOLERANCE);
      if (!r.ok) {
        errors.push(`failed to get ${m.resource} resource metric value: ${r.message}`);
        continue;
      }
      currentMetrics.push({
        type: "Resource",
        resource: {
          name: m.resource,
          current: {
            averageValue: formatQuantity(m.resource, r.averageValue),
            ...(r.averageUtilization !== undefined ? { averageUtilization: r.averageUtilization } : {}),
          },
        },
      });
      if (proposedBy === "" || r.replicas > proposal) {
        proposal = r.replicas;
        proposedBy = metricName(m);
      }
    }
    // All metrics failed, or some did and the rest would scale down: no change (kube's rule).
    if (errors.length >= spec.metrics.length || (errors.length > 0 && proposal < current)) {
      const message = `the HPA was unable to compute the replica count: ${errors[0]}`;
      conditions.push({ type: "ScalingActive", status: "False", reason: "FailedGetResourceMetric", message });
      events.push({
        type: "Warning",
        reason: "FailedComputeMetricsReplicas",
        message: `invalid metrics (${errors.length} invalid out of ${spec.metrics.length}), first error is: ${errors[0]}`,
      });
      return { ...none(current), currentMetrics };
    }
    conditions.push({
      type: "ScalingActive",
      status: "True",
      reason: "ValidMetricFound",
      message: `the HPA was able to successfully calculate a replica count from ${proposedBy}`,
    });
    why = proposal > current ? `${proposedBy} above target` : "All metrics below target";
    const n = normaliseWithBehavior(spec, current, proposal, history, now);
    history = n.history;
    desired = n.replicas;
    conditions.push({
      type: "ScalingLimited",
      status: n.reason === "DesiredWithinRange" ? "False" : "True",
      reason: n.reason,
      message: n.message,
    });
  }

  if (desired === current) {
    conditions.push({
      type: "AbleToScale",
      status: "True",
      reason: "ReadyForNewScale",
      message: "recommended size matches current size",
    });
    return { scaleTo: null, desiredReplicas: desired, currentMetrics, conditions, events, history };
  }
  conditions.push({
    type: "AbleToScale",
    status: "True",
    reason: "SucceededRescale",
    message: `the HPA controller was able to update the target scale to ${desired}`,
  });
  events.push({
    type: "Normal",
    reason: "SuccessfulRescale",
    message: `New size: ${desired}; reason: ${why}`,
  });
  return {
    scaleTo: desired,
    desiredReplicas: desired,
    currentMetrics,
    conditions,
    events,
    history: recordScale(spec, history, current, desired, now),
  };
}
