import type { objects } from "@berth/db";
import {
  type ConfigMapSpec,
  type CronJobSpec,
  type HorizontalPodAutoscalerSpec,
  type IngressSpec,
  type JobSpec,
  KINDS,
  type LimitRangeItem,
  type NetworkPolicySpec,
  type PersistentVolumeClaimSpec,
  type PodDisruptionBudgetSpec,
  type PodDisruptionBudgetStatus,
  type PriorityClassSpec,
  PVC_PROTECTION_FINALIZER,
  type QuotaAmounts,
  renderClaimStatus,
  renderConfigMapFields,
  renderCronJobSpec,
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
import { REDACTED_ANNOTATION, renderMeta } from "./meta";
import type { ObjectKindName } from "./names";

export type ObjectRow = typeof objects.$inferSelect;

/** How a Secret is stored in `objects.spec`: never its values (they are sealed in `dataEnc`). */
export interface StoredSecretSpec {
  type: string;
  immutable: boolean;
  /** The keys of its data, sorted (names are not secret; values are). */
  keys: string[];
}

export type ObjectView = Record<string, unknown> & {
  apiVersion: string;
  kind: string;
  metadata: ReturnType<typeof renderMeta> & { finalizers?: string[] };
};

export interface RenderOptions {
  /** A Secret's values (key → base64) when the caller may read them; otherwise they are hidden. */
  secretData?: Record<string, string>;
  /** A ResourceQuota's usage in its namespace, for `status.used`. */
  quotaUsed?: QuotaAmounts;
  /** A PodDisruptionBudget's status, worked out from its namespace's pods now. */
  budgetStatus?: PodDisruptionBudgetStatus;
  /** A NodePort Service's nodes: the addresses of the cluster's ready nodes, for its condition. */
  nodeAddresses?: readonly string[];
}

export function metaOf(o: ObjectRow) {
  return renderMeta(
    {
      uid: o.id,
      name: o.name,
      namespace: o.namespace,
      resourceVersion: o.resourceVersion,
      generation: o.generation,
      createdAt: o.createdAt,
      deletionTimestamp: o.deletionTimestamp,
      labels: o.labels,
      annotations: o.annotations,
      ownerReferences: o.ownerReferences,
    },
    KINDS[o.kind as ObjectKindName].namespaced,
  );
}

/**
 * A stored object in Kubernetes' shape. A Secret's values are shown only when given in `opts`
 * (the `secret:ReadValue` operation); otherwise every key is listed with the value "" and the
 * annotation `berth.io/data-redacted: "true"` says so.
 */
export function renderObject(o: ObjectRow, opts: RenderOptions = {}): ObjectView {
  const kind = o.kind as ObjectKindName;
  const head = { apiVersion: KINDS[kind].apiVersion, kind };
  const metadata = metaOf(o);
  switch (kind) {
    case "Namespace":
      return {
        ...head,
        metadata,
        spec: { finalizers: ["kubernetes"] },
        status: { phase: o.deletionTimestamp ? "Terminating" : "Active" },
      };
    case "ConfigMap":
      return { ...head, metadata, ...renderConfigMapFields(o.spec as unknown as ConfigMapSpec) };
    case "Secret": {
      const s = o.spec as unknown as StoredSecretSpec;
      const revealed = opts.secretData;
      const data = revealed ?? Object.fromEntries((s.keys ?? []).map((k) => [k, ""]));
      return {
        ...head,
        metadata: revealed
          ? metadata
          : { ...metadata, annotations: { ...metadata.annotations, [REDACTED_ANNOTATION]: "true" } },
        type: s.type,
        ...(Object.keys(data).length > 0 ? { data } : {}),
        ...(s.immutable ? { immutable: true } : {}),
      };
    }
    case "ResourceQuota": {
      const hard = renderQuotaAmounts((o.spec as { hard: QuotaAmounts }).hard);
      const used = opts.quotaUsed
        ? renderQuotaAmounts(
            Object.fromEntries(
              Object.keys(hard).map((k) => [k, opts.quotaUsed?.[k as keyof QuotaAmounts] ?? 0]),
            ),
          )
        : undefined;
      return { ...head, metadata, spec: { hard }, status: { hard, ...(used ? { used } : {}) } };
    }
    case "LimitRange":
      return {
        ...head,
        metadata,
        spec: renderLimitRangeSpec(o.spec as unknown as { limits: LimitRangeItem[] }),
      };
    case "Job":
      return { ...head, metadata, spec: renderJobSpec(o.spec as unknown as JobSpec), status: o.status };
    case "CronJob":
      return {
        ...head,
        metadata,
        spec: renderCronJobSpec(o.spec as unknown as CronJobSpec),
        status: o.status,
      };
    case "PriorityClass":
      return { ...head, metadata, ...renderPriorityClassFields(o.spec as unknown as PriorityClassSpec) };
    case "PodDisruptionBudget": {
      const st = opts.budgetStatus;
      return {
        ...head,
        metadata,
        spec: renderPodDisruptionBudgetSpec(o.spec as unknown as PodDisruptionBudgetSpec),
        status: st
          ? {
              observedGeneration: o.generation,
              ...st,
              conditions: [
                st.disruptionsAllowed > 0
                  ? { type: "DisruptionAllowed", status: "True", reason: "SufficientPods", message: "" }
                  : { type: "DisruptionAllowed", status: "False", reason: "InsufficientPods", message: "" },
              ],
            }
          : {},
      };
    }
    case "HorizontalPodAutoscaler": {
      // The controller's memory (recommendations, scale events) is kept beside the status, not shown.
      const { history: _history, ...status } = o.status;
      return {
        ...head,
        metadata,
        spec: renderHorizontalPodAutoscalerSpec(o.spec as unknown as HorizontalPodAutoscalerSpec),
        status: { currentReplicas: 0, desiredReplicas: 0, ...status },
      };
    }
    case "Service":
      return {
        ...head,
        metadata,
        spec: renderServiceSpec(o.spec as unknown as ServiceSpec),
        status: serviceStatus(o.spec as unknown as ServiceSpec, o.status, opts.nodeAddresses),
      };
    case "Ingress":
      // The gateway writes where it serves the Ingress and what it could not serve (conditions).
      return {
        ...head,
        metadata,
        spec: renderIngressSpec(o.spec as unknown as IngressSpec),
        status: { loadBalancer: {}, ...o.status },
      };
    case "NetworkPolicy":
      return { ...head, metadata, spec: renderNetworkPolicySpec(o.spec as unknown as NetworkPolicySpec) };
    case "PersistentVolumeClaim": {
      const spec = o.spec as unknown as PersistentVolumeClaimSpec;
      return {
        ...head,
        metadata: { ...metadata, finalizers: [PVC_PROTECTION_FINALIZER] },
        spec: renderPersistentVolumeClaimSpec(spec),
        status: renderClaimStatus(spec, o.status),
      };
    }
    default: {
      const unknownKind: never = kind;
      throw new Error(`no rendering for ${String(unknownKind)}`);
    }
  }
}

/**
 * A Service's status. A NodePort Service is served on its node ports by every node of the cluster:
 * Kubernetes writes nothing for it in `status.loadBalancer`, so a condition names where (the
 * addresses of the cluster's ready nodes, when the read knows them). LoadBalancer services are
 * reachable at their clusterIP and node ports, but no platform address serves them yet: a
 * condition says so rather than leaving `status.loadBalancer` silently empty.
 */
function serviceStatus(
  s: ServiceSpec,
  stored: Record<string, unknown>,
  nodeAddresses: readonly string[] | undefined,
): Record<string, unknown> {
  if (s.type === "ClusterIP") return { loadBalancer: {} };
  if (s.type === "NodePort") return { loadBalancer: {}, conditions: [nodePortCondition(s, nodeAddresses)] };
  // A LoadBalancer service the gateway serves: it wrote where (apps/gateway).
  if (stored.loadBalancer)
    return {
      loadBalancer: stored.loadBalancer,
      conditions: [
        {
          type: "berth.io/ExternallyReachable",
          status: "True",
          reason: "ServedByGateway",
          message: "every port is forwarded by the platform's gateway at the address in loadBalancer",
        },
      ],
    };
  return {
    loadBalancer: {},
    conditions: [
      {
        type: "berth.io/ExternallyReachable",
        status: "False",
        reason: "NotServedYet",
        message: "the platform's gateway has not given it an address yet",
      },
    ],
  };
}

function nodePortCondition(s: ServiceSpec, nodeAddresses: readonly string[] | undefined) {
  const ports = s.ports.map((p) => p.nodePort).join(", ");
  if (nodeAddresses?.length === 0)
    return {
      type: "berth.io/ExternallyReachable",
      status: "False",
      reason: "NoReadyNodes",
      message: `node port ${ports}: no node of the cluster is ready to serve it`,
    };
  const where = nodeAddresses
    ? `: ${nodeAddresses.flatMap((a) => s.ports.map((p) => `${a}:${p.nodePort}`)).join(", ")}`
    : "";
  return {
    type: "berth.io/ExternallyReachable",
    status: "True",
    reason: "NodePortServed",
    message: `served on node port ${ports} of every ready node of the cluster${where}`,
  };
}
