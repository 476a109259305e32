import type { ResourceTarget } from "../kinds/autoscaling";

/** Kubernetes' --horizontal-pod-autoscaler-tolerance: no change while usage is within 10 % of target. */
export const HPA_TOLERANCE = 0.1;

/** One pod of the scale target as the autoscaler sees it. */
export interface HpaPod {
  name: string;
  phase: "Pending" | "Running" | "Succeeded" | "Failed";
  ready: boolean;
  /** Being deleted: ignored, as kube ignores pods with a deletionTimestamp. */
  deleting: boolean;
  /** The pod's requests: millicores and bytes (0: none). */
  requests: { cpu: number; memory: number };
  /** Its latest usage (millicores, bytes); undefined: no fresh sample (a missing pod). */
  usage: { cpu: number; memory: number } | undefined;
}

export type MetricReplicas =
  | {
      ok: true;
      replicas: number;
      /** Average usage per pod with a sample (millicores or bytes), and of requests in percent when the target is one. */
      averageValue: number;
      averageUtilization?: number;
    }
  | { ok: false; reason: "FailedGetResourceMetric"; message: string };

/**
 * The replicas one Resource metric asks for: kube's ReplicaCalculator (GetResourceReplicas and
 * GetRawResourceReplicas). Failed and deleting pods are ignored; pending pods, and for cpu pods
 * that are not ready, are unready; pods without a sample are missing. Within the tolerance the
 * count stays. Otherwise, when pods are missing or unready, the ratio is recomputed assuming
 * missing pods use 100 % of target when scaling down and 0 % when scaling up, and unready pods 0 %
 * when scaling up; the scale direction must survive that, or nothing changes.
 */
export function replicasForMetric(
  target: ResourceTarget,
  currentReplicas: number,
  pods: readonly HpaPod[],
  tolerance = HPA_TOLERANCE,
): MetricReplicas {
  const r = target.resource;
  if (pods.length === 0) return fail("no pods returned by selector while calculating replica count");
  let ready = 0;
  const unready: HpaPod[] = [];
  const missing: HpaPod[] = [];
  const measured = new Map<string, { usage: number; request: number }>();
  for (const p of pods) {
    if (p.deleting || p.phase === "Failed" || p.phase === "Succeeded") continue;
    if (p.phase === "Pending") {
      unready.push(p);
      continue;
    }
    if (!p.usage) {
      missing.push(p);
      continue;
    }
    if (r === "cpu" && !p.ready) {
      unready.push(p);
      continue;
    }
    ready++;
    measured.set(p.name, { usage: p.usage[r], request: p.requests[r] });
  }
  if (measured.size === 0) return fail(`did not receive metrics for targeted pods (pods might be unready)`);
  const requestOf = (p: HpaPod) => p.requests[r];
  if (target.type === "Utilization") {
    for (const p of [...measured.values()])
      if (p.request <= 0) return fail(`missing request for ${r} in some of the pods`);
  }

  // The ratio of usage to target over what was measured.
  const ratioOf = (m: ReadonlyMap<string, { usage: number; request: number }>) => {
    let usage = 0;
    let requests = 0;
    for (const v of m.values()) {
      usage += v.usage;
      requests += v.request;
    }
    // As kube: the utilisation (and an average value) is truncated to an integer before the ratio.
    const average = Math.floor(usage / m.size);
    if (target.type === "Utilization") {
      const utilization = Math.floor((usage * 100) / requests);
      return { ratio: utilization / target.averageUtilization, utilization, average };
    }
    return { ratio: average / target.averageValue, utilization: undefined, average };
  };
  const first = ratioOf(measured);
  const report = (replicas: number): MetricReplicas => ({
    ok: true,
    replicas,
    averageValue: first.average,
    ...(first.utilization !== undefined ? { averageUtilization: first.utilization } : {}),
  });
  const scaleUpWithUnready = unready.length > 0 && first.ratio > 1;
  if (!scaleUpWithUnready && missing.length === 0) {
    if (Math.abs(1 - first.ratio) <= tolerance) return report(currentReplicas);
    return report(Math.ceil(first.ratio * ready));
  }

  const assumed = new Map(measured);
  for (const p of missing) {
    // Scaling down: a missing pod uses all it requested (or the target, if above 100 %), or the
    // target value; scaling up: nothing.
    const fallback =
      target.type === "Utilization"
        ? Math.floor((requestOf(p) * Math.max(100, target.averageUtilization)) / 100)
        : target.averageValue;
    if (first.ratio < 1) assumed.set(p.name, { usage: fallback, request: requestOf(p) });
    else if (first.ratio > 1 || target.type === "AverageValue")
      assumed.set(p.name, { usage: 0, request: requestOf(p) });
  }
  if (scaleUpWithUnready) for (const p of unready) assumed.set(p.name, { usage: 0, request: requestOf(p) });
  const second = ratioOf(assumed);
  if (
    Math.abs(1 - second.ratio) <= tolerance ||
    (first.ratio < 1 && second.ratio > 1) ||
    (first.ratio > 1 && second.ratio < 1)
  )
    return report(currentReplicas);
  const replicas = Math.ceil(second.ratio * assumed.size);
  if ((second.ratio < 1 && replicas > currentReplicas) || (second.ratio > 1 && replicas < currentReplicas))
    return report(currentReplicas);
  return report(replicas);
}

function fail(message: string): MetricReplicas {
  return { ok: false, reason: "FailedGetResourceMetric", message };
}
