import type { HorizontalPodAutoscalerSpec, ScalingRules } from "../kinds/autoscaling";

/**
 * What the autoscaler remembers between passes, as kube's controller keeps it in memory (Berth
 * keeps it in the object's status, so that any provisioner replica can take the next pass): the
 * recommendations of the longest stabilisation window, and the scale changes of the longest
 * policy period. Times are epoch milliseconds.
 */
export interface HpaHistory {
  recommendations: { at: number; replicas: number }[];
  scaleUps: { at: number; change: number }[];
  scaleDowns: { at: number; change: number }[];
}

export const emptyHistory = (): HpaHistory => ({ recommendations: [], scaleUps: [], scaleDowns: [] });

export type LimitReason =
  | "DesiredWithinRange"
  | "TooManyReplicas"
  | "TooFewReplicas"
  | "ScaleUpLimit"
  | "ScaleDownLimit";

export interface Normalised {
  replicas: number;
  /** ScalingLimited's reason: True unless DesiredWithinRange. */
  reason: LimitReason;
  message: string;
  history: HpaHistory;
}

const changeIn = (events: readonly { at: number; change: number }[], periodSeconds: number, now: number) =>
  events.filter((e) => e.at > now - periodSeconds * 1000).reduce((n, e) => n + e.change, 0);

/** kube's calculateScaleUpLimitWithScalingRules: the most replicas the policies allow now. */
export function scaleUpLimit(current: number, history: HpaHistory, rules: ScalingRules, now: number): number {
  if (rules.selectPolicy === "Disabled") return current;
  const pick = rules.selectPolicy === "Min" ? Math.min : Math.max;
  let result = rules.selectPolicy === "Min" ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY;
  for (const p of rules.policies) {
    const start =
      current -
      changeIn(history.scaleUps, p.periodSeconds, now) +
      changeIn(history.scaleDowns, p.periodSeconds, now);
    const proposed = p.type === "Pods" ? start + p.value : Math.ceil(start * (1 + p.value / 100));
    result = pick(result, proposed);
  }
  return result;
}

/** kube's calculateScaleDownLimitWithBehaviors: the fewest replicas the policies allow now. */
export function scaleDownLimit(
  current: number,
  history: HpaHistory,
  rules: ScalingRules,
  now: number,
): number {
  if (rules.selectPolicy === "Disabled") return current;
  const pick = rules.selectPolicy === "Min" ? Math.max : Math.min;
  let result = rules.selectPolicy === "Min" ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  for (const p of rules.policies) {
    const start =
      current -
      changeIn(history.scaleUps, p.periodSeconds, now) +
      changeIn(history.scaleDowns, p.periodSeconds, now);
    const proposed = p.type === "Pods" ? start - p.value : Math.trunc(start * (1 - p.value / 100));
    result = pick(result, proposed);
  }
  return result;
}

/**
 * kube's normalizeDesiredReplicasWithBehaviors: the recommendation is stabilised (up: the lowest
 * of the scale-up window, down: the highest of the scale-down window, the current count between
 * them), then held to the scaling policies' rates and to [minReplicas, maxReplicas]. A new HPA's
 * window starts with the current count, so that it never scales down the moment it is created.
 */
export function normaliseWithBehavior(
  spec: Pick<HorizontalPodAutoscalerSpec, "behavior" | "minReplicas" | "maxReplicas">,
  current: number,
  recommended: number,
  history: HpaHistory,
  now: number,
): Normalised {
  const { scaleUp, scaleDown } = spec.behavior;
  const recs =
    history.recommendations.length > 0 ? history.recommendations : [{ at: now, replicas: current }];
  let up = recommended;
  let down = recommended;
  for (const r of recs) {
    if (r.at > now - scaleUp.stabilizationWindowSeconds * 1000) up = Math.min(up, r.replicas);
    if (r.at > now - scaleDown.stabilizationWindowSeconds * 1000) down = Math.max(down, r.replicas);
  }
  let stabilised = current;
  if (stabilised < up) stabilised = up;
  if (stabilised > down) stabilised = down;
  const keepMs = Math.max(scaleUp.stabilizationWindowSeconds, scaleDown.stabilizationWindowSeconds) * 1000;
  const next: HpaHistory = {
    ...history,
    recommendations: [...recs.filter((r) => r.at > now - keepMs), { at: now, replicas: recommended }],
  };

  if (stabilised > current) {
    const limit = Math.max(current, scaleUpLimit(current, history, scaleUp, now));
    const [max, reason, message] =
      spec.maxReplicas > limit
        ? [
            limit,
            "ScaleUpLimit",
            "the desired replica count is increasing faster than the maximum scale rate",
          ]
        : [
            spec.maxReplicas,
            "TooManyReplicas",
            "the desired replica count is more than the maximum replica count",
          ];
    if (stabilised > max) return { replicas: max, reason: reason as LimitReason, message, history: next };
  } else if (stabilised < current) {
    const limit = Math.min(current, scaleDownLimit(current, history, scaleDown, now));
    const [min, reason, message] =
      spec.minReplicas < limit
        ? [
            limit,
            "ScaleDownLimit",
            "the desired replica count is decreasing faster than the maximum scale rate",
          ]
        : [
            spec.minReplicas,
            "TooFewReplicas",
            "the desired replica count is less than the minimum replica count",
          ];
    if (stabilised < min) return { replicas: min, reason: reason as LimitReason, message, history: next };
  }
  return {
    replicas: stabilised,
    reason: "DesiredWithinRange",
    message: "the desired count is within the acceptable range",
    history: next,
  };
}

/** Remembers a change of scale for the policies' periods (kube's storeScaleEvent). */
export function recordScale(
  spec: Pick<HorizontalPodAutoscalerSpec, "behavior">,
  history: HpaHistory,
  from: number,
  to: number,
  now: number,
): HpaHistory {
  const longest = (r: ScalingRules) => Math.max(0, ...r.policies.map((p) => p.periodSeconds)) * 1000;
  const ups = history.scaleUps.filter((e) => e.at > now - longest(spec.behavior.scaleUp));
  const downs = history.scaleDowns.filter((e) => e.at > now - longest(spec.behavior.scaleDown));
  if (to > from) ups.push({ at: now, change: to - from });
  if (to < from) downs.push({ at: now, change: from - to });
  return { ...history, scaleUps: ups, scaleDowns: downs };
}
