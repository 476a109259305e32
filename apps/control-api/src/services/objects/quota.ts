import { BerthError } from "@berth/core";
import {
  type DeploymentSpec,
  formatQuotaAmount,
  type JobSpec,
  type KindName,
  type PodTotals,
  podTotals,
  type QuotaAmounts,
  type QuotaResource,
} from "@berth/kube";

/**
 * ResourceQuota at admission, as Kubernetes' quota admission does it: what an object adds to its
 * namespace's usage (pods and their compute at the replicas or parallelism they would run at,
 * object counts), checked against every quota of the namespace before anything is written.
 */

function podsOf(count: number, t: PodTotals): QuotaAmounts {
  return {
    pods: count,
    "count/pods": count,
    "requests.cpu": count * t.requests.cpu,
    cpu: count * t.requests.cpu,
    "requests.memory": count * t.requests.memory,
    memory: count * t.requests.memory,
    "limits.cpu": count * t.limits.cpu,
    "limits.memory": count * t.limits.memory,
    "requests.ephemeral-storage": count * t.requests["ephemeral-storage"],
    "limits.ephemeral-storage": count * t.limits["ephemeral-storage"],
  };
}

/** A Job's pods count while it runs: none once it is complete, failed or suspended. */
export function jobRunning(status: Record<string, unknown> | undefined): boolean {
  const conditions = (status?.conditions ?? []) as { type?: string; status?: string }[];
  return !conditions.some((c) => (c.type === "Complete" || c.type === "Failed") && c.status === "True");
}

/** What one object counts for in its namespace's quotas. */
export function contributionOf(
  kind: KindName,
  spec: unknown,
  status?: Record<string, unknown>,
): QuotaAmounts {
  switch (kind) {
    case "Deployment": {
      const d = spec as DeploymentSpec;
      return { ...podsOf(d.replicas, podTotals(d.template)), "count/deployments.apps": 1 };
    }
    case "Job": {
      const j = spec as JobSpec;
      const active = j.suspend || !jobRunning(status) ? 0 : Math.min(j.parallelism, j.completions);
      return { ...podsOf(active, podTotals(j.template)), "count/jobs.batch": 1 };
    }
    case "CronJob":
      // Its Jobs count for themselves once they exist.
      return { "count/cronjobs.batch": 1 };
    case "Service":
      return { services: 1 };
    case "ConfigMap":
      return { configmaps: 1, "count/configmaps": 1 };
    case "Secret":
      return { secrets: 1, "count/secrets": 1 };
    default:
      return {};
  }
}

export function addAmounts(into: QuotaAmounts, a: QuotaAmounts, sign = 1): QuotaAmounts {
  for (const [k, v] of Object.entries(a) as [QuotaResource, number][]) into[k] = (into[k] ?? 0) + sign * v;
  return into;
}

/**
 * Refuses (403, as Kubernetes does) a change that raises the namespace's usage of a resource some
 * quota limits above that quota's hard limit, in Kubernetes' words:
 * `exceeded quota: compute, requested: pods=1, used: pods=10, limited: pods=10`.
 */
export function checkQuotas(
  quotas: ReadonlyMap<string, QuotaAmounts>,
  used: QuotaAmounts,
  before: QuotaAmounts,
  after: QuotaAmounts,
  what: string,
): void {
  for (const [name, hard] of [...quotas].sort(([a], [b]) => a.localeCompare(b))) {
    const over: { resource: QuotaResource; requested: number; used: number; limited: number }[] = [];
    for (const [resource, limited] of Object.entries(hard) as [QuotaResource, number][]) {
      const requested = (after[resource] ?? 0) - (before[resource] ?? 0);
      if (requested <= 0) continue;
      const current = used[resource] ?? 0;
      if (current + requested > limited) over.push({ resource, requested, used: current, limited });
    }
    if (over.length === 0) continue;
    over.sort((a, b) => a.resource.localeCompare(b.resource));
    const list = (f: "requested" | "used" | "limited") =>
      over.map((o) => `${o.resource}=${formatQuotaAmount(o.resource, o[f])}`).join(",");
    throw new BerthError(
      "FORBIDDEN",
      `${what} is forbidden: exceeded quota: ${name}, requested: ${list("requested")}, used: ${list("used")}, limited: ${list("limited")}`,
    );
  }
}
