import { formatCpuMillis, formatMemoryBytes } from "@berth/core";
import type { LimitPolicy } from "./limit-range";
import { checkLimitPolicy } from "./resources";
import type { PodTemplate, StoredContainer } from "./template";

/** What one pod of a template asks for and may use, in the units of quotas. */
export interface PodTotals {
  requests: { cpu: number; memory: number; "ephemeral-storage": number };
  limits: { cpu: number; memory: number; "ephemeral-storage": number };
}

function sum(list: readonly StoredContainer[]): PodTotals {
  const t: PodTotals = {
    requests: { cpu: 0, memory: 0, "ephemeral-storage": 0 },
    limits: { cpu: 0, memory: 0, "ephemeral-storage": 0 },
  };
  for (const c of list) {
    t.requests.cpu += c.resources.cpuMillis;
    t.requests.memory += c.resources.memoryBytes;
    t.limits.cpu += c.limits.cpuMillis;
    t.limits.memory += c.limits.memoryBytes;
    // Berth keeps only a limit of ephemeral storage; it counts as the request too.
    const disk = c.limits.ephemeralStorageBytes ?? 0;
    t.requests["ephemeral-storage"] += disk;
    t.limits["ephemeral-storage"] += disk;
  }
  return t;
}

/**
 * A pod's effective requests and limits, as Kubernetes computes them for quotas and LimitRanges:
 * the sum over its containers, or the largest init container's when that is more (init
 * containers run one at a time, before the others).
 */
export function podTotals(t: Pick<PodTemplate, "containers" | "initContainers">): PodTotals {
  const app = sum(t.containers);
  for (const init of t.initContainers ?? []) {
    const one = sum([init]);
    for (const side of ["requests", "limits"] as const)
      for (const r of ["cpu", "memory", "ephemeral-storage"] as const)
        app[side][r] = Math.max(app[side][r], one[side][r]);
  }
  return app;
}

/** A LimitRange of type Pod: the pod's totals against its minimum, maximum and ratio (403 when broken). */
export function checkPodLimitPolicy(totals: PodTotals, policy: LimitPolicy, at: string): void {
  const paths = { reqPath: `${at}.containers`, limPath: `${at}.containers` };
  checkLimitPolicy(
    "cpu",
    { request: totals.requests.cpu, limit: totals.limits.cpu },
    policy,
    "Pod",
    paths,
    formatCpuMillis,
  );
  checkLimitPolicy(
    "memory",
    { request: totals.requests.memory, limit: totals.limits.memory },
    policy,
    "Pod",
    paths,
    formatMemoryBytes,
  );
}
