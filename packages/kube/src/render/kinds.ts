import { formatCpuMillis, formatMemoryBytes } from "@berth/core";
import type { ConfigMapSpec } from "../kinds/config";
import type { DeploymentSpec } from "../kinds/deployment";
import type { CronJobSpec, JobSpec } from "../kinds/job";
import type { LimitRangeItem, QuotaAmounts, QuotaResource } from "../kinds/policy";
import type { ResourceAmounts } from "../pod/limit-range";
import { renderPodTemplate } from "./pod";

/**
 * Each kind's stored spec in Kubernetes' shape: the `spec` (or, for ConfigMaps, the top-level
 * fields) a GET answers with, defaults visible. Each renders to what its schema accepts and
 * normalises back to the same stored spec.
 */
type Json = Record<string, unknown>;

export function renderDeploymentSpec(
  s: Omit<DeploymentSpec, "template"> & { template: DeploymentSpec["template"] },
): Json {
  return {
    replicas: s.replicas,
    selector: s.selector,
    template: renderPodTemplate(s.template),
    strategy:
      s.strategy.type === "Recreate"
        ? { type: "Recreate" }
        : {
            type: "RollingUpdate",
            rollingUpdate: { maxSurge: s.strategy.maxSurge, maxUnavailable: s.strategy.maxUnavailable },
          },
    minReadySeconds: s.minReadySeconds,
    revisionHistoryLimit: s.revisionHistoryLimit,
    progressDeadlineSeconds: s.progressDeadlineSeconds,
    ...(s.paused ? { paused: true } : {}),
    /** Berth's extension (see README): roll back by itself when the progress deadline passes. */
    ...(s.autoRollback ? { autoRollback: true } : {}),
  };
}

export function renderJobSpec(s: JobSpec): Json {
  return {
    completions: s.completions,
    parallelism: s.parallelism,
    backoffLimit: s.backoffLimit,
    ...(s.activeDeadlineSeconds !== undefined ? { activeDeadlineSeconds: s.activeDeadlineSeconds } : {}),
    ...(s.ttlSecondsAfterFinished !== undefined
      ? { ttlSecondsAfterFinished: s.ttlSecondsAfterFinished }
      : {}),
    completionMode: "NonIndexed",
    suspend: s.suspend,
    template: renderPodTemplate(s.template),
  };
}

export function renderCronJobSpec(s: CronJobSpec): Json {
  const meta = s.jobTemplate;
  return {
    schedule: s.schedule,
    timeZone: s.timeZone,
    concurrencyPolicy: s.concurrencyPolicy,
    ...(s.startingDeadlineSeconds !== undefined
      ? { startingDeadlineSeconds: s.startingDeadlineSeconds }
      : {}),
    successfulJobsHistoryLimit: s.successfulJobsHistoryLimit,
    failedJobsHistoryLimit: s.failedJobsHistoryLimit,
    suspend: s.suspend,
    jobTemplate: {
      ...(Object.keys(meta.labels).length + Object.keys(meta.annotations).length > 0
        ? {
            metadata: {
              ...(Object.keys(meta.labels).length > 0 ? { labels: meta.labels } : {}),
              ...(Object.keys(meta.annotations).length > 0 ? { annotations: meta.annotations } : {}),
            },
          }
        : {}),
      spec: renderJobSpec(meta.spec),
    },
  };
}

/** A ConfigMap's top-level fields (`data`, `binaryData`, `immutable`). */
export function renderConfigMapFields(s: ConfigMapSpec): Json {
  return {
    ...(Object.keys(s.data).length > 0 ? { data: s.data } : {}),
    ...(Object.keys(s.binaryData).length > 0 ? { binaryData: s.binaryData } : {}),
    ...(s.immutable ? { immutable: true } : {}),
  };
}

/** A quota amount in Kubernetes' notation: cpu as "500m"/"2", memory and storage as "1Gi", counts as "10". */
export function formatQuotaAmount(resource: string, n: number): string {
  if (resource === "cpu" || resource.endsWith(".cpu")) return formatCpuMillis(n);
  if (resource === "memory" || resource.includes("memory") || resource.includes("ephemeral-storage"))
    return formatMemoryBytes(n);
  return String(n);
}

export function renderQuotaAmounts(amounts: QuotaAmounts): Record<string, string> {
  return Object.fromEntries(
    (Object.entries(amounts) as [QuotaResource, number][]).map(([k, v]) => [k, formatQuotaAmount(k, v)]),
  );
}

function resourceList(a: ResourceAmounts): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  if (a.cpu !== undefined) out.cpu = formatCpuMillis(a.cpu);
  if (a.memory !== undefined) out.memory = formatMemoryBytes(a.memory);
  if (a["ephemeral-storage"] !== undefined)
    out["ephemeral-storage"] = formatMemoryBytes(a["ephemeral-storage"]);
  return Object.keys(out).length > 0 ? out : undefined;
}

export function renderLimitRangeSpec(s: { limits: LimitRangeItem[] }): Json {
  return {
    limits: s.limits.map((item) => {
      const ratio: Record<string, string> = {};
      for (const k of ["cpu", "memory"] as const) {
        const v = item.maxLimitRequestRatio[k];
        if (v !== undefined) ratio[k] = String(v);
      }
      const lists = {
        default: resourceList(item.default),
        defaultRequest: resourceList(item.defaultRequest),
        max: resourceList(item.max),
        min: resourceList(item.min),
      };
      return {
        type: item.type,
        ...Object.fromEntries(Object.entries(lists).filter(([, v]) => v !== undefined)),
        ...(Object.keys(ratio).length > 0 ? { maxLimitRequestRatio: ratio } : {}),
      };
    }),
  };
}
