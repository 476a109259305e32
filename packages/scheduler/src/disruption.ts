import { SchedulerInputError } from "./errors";
import { intDiv, isCount } from "./int";
import { selectorMatches } from "./labels";
import type { PodFacts } from "./terms";
import type { DisruptionBudget, LabelSelector } from "./types";

/** An integer or a percentage such as "25%", as in kube's IntOrString. */
export type IntOrPercent = number | `${number}%`;

/** A PodDisruptionBudget's spec: one of minAvailable and maxUnavailable. */
export interface DisruptionBudgetSpec {
  minAvailable?: IntOrPercent;
  maxUnavailable?: IntOrPercent;
}

/** An integer as it is, a percentage of `total` rounded up (kube rounds both of a budget's up). */
function scaled(value: IntOrPercent, total: number): number {
  if (typeof value === "number") {
    if (!isCount(value))
      throw new SchedulerInputError(`PodDisruptionBudget value ${value} must be a non-negative integer`);
    return value;
  }
  const match = /^(\d+)%$/.exec(value);
  if (!match)
    throw new SchedulerInputError(
      `PodDisruptionBudget value ${JSON.stringify(value)} is not an integer or a percentage`,
    );
  const percent = Number(match[1]);
  return intDiv(percent * total + 99, 100);
}

/**
 * kube's disruption controller arithmetic: how many of the budget's pods may be disrupted now,
 * given how many it expects and how many are healthy. kube's `expectedPods` is the number of
 * matching pods for an integer minAvailable, and the replicas of their controllers otherwise;
 * the caller (the disruption controller) works that out. minAvailable percentages round up, maxUnavailable
 * percentages round up too (kube's GetScaledValueFromIntOrPercent with roundUp). Never negative.
 */
export function disruptionsAllowed(
  spec: DisruptionBudgetSpec,
  expectedPods: number,
  healthyPods: number,
): number {
  let desiredHealthy: number;
  if (spec.maxUnavailable !== undefined) {
    desiredHealthy = Math.max(0, expectedPods - scaled(spec.maxUnavailable, expectedPods));
  } else if (spec.minAvailable !== undefined) {
    desiredHealthy = scaled(spec.minAvailable, expectedPods);
  } else {
    throw new SchedulerInputError("a PodDisruptionBudget needs minAvailable or maxUnavailable");
  }
  return Math.max(0, healthyPods - desiredHealthy);
}

/** Whether a budget covers `pod`: same tenant and namespace, and a non-empty selector matching it. */
export function budgetCovers(budget: DisruptionBudget, pod: PodFacts): boolean {
  if (budget.tenantId !== pod.tenantId || budget.namespace !== pod.namespace) return false;
  const selector: LabelSelector | undefined = budget.selector;
  if (selector === undefined) return false;
  const empty =
    Object.keys(selector.matchLabels ?? {}).length === 0 && (selector.matchExpressions ?? []).length === 0;
  return !empty && selectorMatches(selector, pod.labels ?? {});
}
