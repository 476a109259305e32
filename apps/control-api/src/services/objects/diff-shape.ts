import {
  type ConfigMapSpec,
  type CronJobSpec,
  type DeploymentSpec,
  type HorizontalPodAutoscalerSpec,
  type IngressSpec,
  type JobSpec,
  type KindName,
  type LimitRangeItem,
  type NetworkPolicySpec,
  type PersistentVolumeClaimSpec,
  type PodDisruptionBudgetSpec,
  type PriorityClassSpec,
  type QuotaAmounts,
  renderConfigMapFields,
  renderCronJobSpec,
  renderDeploymentSpec,
  renderHorizontalPodAutoscalerSpec,
  renderIngressSpec,
  renderJobSpec,
  renderLimitRangeSpec,
  renderNetworkPolicySpec,
  renderPersistentVolumeClaimSpec,
  renderPodDisruptionBudgetSpec,
  renderPriorityClassFields,
  renderQuotaAmounts,
  renderServiceSpec,
  type ServiceSpec,
} from "@berth/kube";
import { userAnnotations } from "./meta";
import type { StoredSecretSpec } from "./render";

/**
 * The part of an object a write may change, in Kubernetes' shape, for `changedPaths`
 * (`spec.template.spec.containers[0].image`, `data.GREETING`, `metadata.labels.tier`). A Secret's
 * values are compared here but only their paths ever leave this module.
 */
export function diffShape(
  kind: KindName,
  spec: unknown,
  meta: { labels: Record<string, string>; annotations: Record<string, string>; ownerReferences: unknown[] },
  secretData?: Record<string, string>,
): Record<string, unknown> {
  const metadata = {
    labels: meta.labels,
    // The stored row carries what the server writes (a Deployment's revision): never a change of the user's.
    annotations: userAnnotations(meta.annotations),
    ownerReferences: meta.ownerReferences,
  };
  switch (kind) {
    case "Namespace":
      return { metadata };
    case "ConfigMap":
      return { metadata, ...renderConfigMapFields(spec as ConfigMapSpec) };
    case "Secret": {
      const s = spec as StoredSecretSpec;
      return { metadata, type: s.type, data: secretData ?? {}, immutable: s.immutable };
    }
    case "ResourceQuota":
      return { metadata, spec: { hard: renderQuotaAmounts((spec as { hard: QuotaAmounts }).hard) } };
    case "LimitRange":
      return { metadata, spec: renderLimitRangeSpec(spec as { limits: LimitRangeItem[] }) };
    case "Job":
      return { metadata, spec: renderJobSpec(spec as JobSpec) };
    case "CronJob":
      return { metadata, spec: renderCronJobSpec(spec as CronJobSpec) };
    case "Deployment":
      return { metadata, spec: renderDeploymentSpec(spec as DeploymentSpec) };
    case "PriorityClass":
      return { metadata, ...renderPriorityClassFields(spec as PriorityClassSpec) };
    case "PodDisruptionBudget":
      return { metadata, spec: renderPodDisruptionBudgetSpec(spec as PodDisruptionBudgetSpec) };
    case "HorizontalPodAutoscaler":
      return { metadata, spec: renderHorizontalPodAutoscalerSpec(spec as HorizontalPodAutoscalerSpec) };
    case "Service":
      return { metadata, spec: renderServiceSpec(spec as ServiceSpec) };
    case "NetworkPolicy":
      return { metadata, spec: renderNetworkPolicySpec(spec as NetworkPolicySpec) };
    case "Ingress":
      return { metadata, spec: renderIngressSpec(spec as IngressSpec) };
    case "PersistentVolumeClaim":
      return { metadata, spec: renderPersistentVolumeClaimSpec(spec as PersistentVolumeClaimSpec) };
    default: {
      const unknownKind: never = kind;
      throw new Error(`no shape for ${String(unknownKind)}`);
    }
  }
}
