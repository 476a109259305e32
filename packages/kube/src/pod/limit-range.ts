import type { LimitRangeItem } from "../kinds/policy";

/** Amounts of one resource list: millicores for cpu, bytes for memory and ephemeral storage. */
export interface ResourceAmounts {
  cpu?: number;
  memory?: number;
  "ephemeral-storage"?: number;
}

/** What a namespace's LimitRanges say about one container (type Container) or one pod (type Pod). */
export interface LimitPolicy {
  /** Limits given to a container that has none (`default`). */
  defaultLimit: ResourceAmounts;
  /** Requests given to a container that has none (`defaultRequest`). */
  defaultRequest: ResourceAmounts;
  min: ResourceAmounts;
  max: ResourceAmounts;
  maxLimitRequestRatio: { cpu?: number; memory?: number };
}

/**
 * The LimitRanges of a namespace, merged as Kubernetes' LimitRanger applies them one after the
 * other: the first that gives a default wins (in name order), every minimum, maximum and ratio
 * must hold (so the tightest one counts). Without any, the platform's own rules alone apply
 * (requests 100m / 128Mi, limits = requests, limit/request ratio at most 4).
 */
export interface ResourcePolicy {
  container: LimitPolicy;
  pod: LimitPolicy;
}

const empty = (): LimitPolicy => ({
  defaultLimit: {},
  defaultRequest: {},
  min: {},
  max: {},
  maxLimitRequestRatio: {},
});

/** No LimitRange: the platform's defaults only. */
export const PLATFORM_RESOURCE_POLICY: ResourcePolicy = Object.freeze({
  container: Object.freeze(empty()),
  pod: Object.freeze(empty()),
}) as ResourcePolicy;

const RESOURCES = ["cpu", "memory", "ephemeral-storage"] as const;

function merge(into: LimitPolicy, item: LimitRangeItem): void {
  for (const r of RESOURCES) {
    const d = item.default[r];
    if (d !== undefined && into.defaultLimit[r] === undefined) into.defaultLimit[r] = d;
    const dr = item.defaultRequest[r];
    if (dr !== undefined && into.defaultRequest[r] === undefined) into.defaultRequest[r] = dr;
    const min = item.min[r];
    if (min !== undefined) into.min[r] = Math.max(into.min[r] ?? 0, min);
    const max = item.max[r];
    if (max !== undefined) into.max[r] = Math.min(into.max[r] ?? Number.MAX_SAFE_INTEGER, max);
  }
  for (const r of ["cpu", "memory"] as const) {
    const ratio = item.maxLimitRequestRatio[r];
    if (ratio !== undefined)
      into.maxLimitRequestRatio[r] = Math.min(
        into.maxLimitRequestRatio[r] ?? Number.POSITIVE_INFINITY,
        ratio,
      );
  }
}

/** The policy of a namespace from its LimitRanges (each `{name, spec}` as stored). */
export function resourcePolicyOf(
  ranges: readonly { name: string; spec: { limits: readonly LimitRangeItem[] } }[],
): ResourcePolicy {
  if (ranges.length === 0) return PLATFORM_RESOURCE_POLICY;
  const policy: ResourcePolicy = { container: empty(), pod: empty() };
  for (const range of [...ranges].sort((a, b) => a.name.localeCompare(b.name)))
    for (const item of range.spec.limits) merge(item.type === "Pod" ? policy.pod : policy.container, item);
  return policy;
}
