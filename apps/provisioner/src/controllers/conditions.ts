import type { Condition } from "@berth/db";

/**
 * Status conditions as Kubernetes' meta.SetStatusCondition keeps them: one per type;
 * `lastTransitionTime` moves only when the status flips, not when the reason or message changes.
 */
export function setCondition(
  conditions: readonly Condition[],
  next: Omit<Condition, "lastTransitionTime">,
  now: Date,
): Condition[] {
  const existing = conditions.find((c) => c.type === next.type);
  const lastTransitionTime =
    existing && existing.status === next.status ? existing.lastTransitionTime : now.toISOString();
  const updated: Condition = { ...next, lastTransitionTime };
  return existing ? conditions.map((c) => (c.type === next.type ? updated : c)) : [...conditions, updated];
}

/** The conditions without the one of `type` (the deployment controller removes ReplicaFailure once resolved). */
export function removeCondition(conditions: readonly Condition[], type: string): Condition[] {
  return conditions.filter((c) => c.type !== type);
}

export function findCondition(conditions: readonly Condition[], type: string): Condition | undefined {
  return conditions.find((c) => c.type === type);
}

const FIELDS = ["type", "status", "reason", "message", "lastTransitionTime"] as const;

/** Whether two lists say the same thing, field by field (jsonb does not keep the order of keys). */
export function sameConditions(a: readonly Condition[], b: readonly Condition[]): boolean {
  return a.length === b.length && a.every((c, i) => FIELDS.every((k) => c[k] === b[i]?.[k]));
}
