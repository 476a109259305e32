import type { ContainerTemplateInput, Handler, Probe } from "@berth/protocol";
import type { AffinityInput, TopologySpreadConstraintInput } from "./affinity";

/**
 * A pod template as the control plane stores it (on a Deployment, Job, CronJob and each Pod):
 * admitted, defaulted, quantities as integers, image references normalised — but ConfigMap and
 * Secret references still references. They are resolved per node when a pod is assigned
 * (`resolve.ts`), so a node only ever sees the values of its own pods.
 */
export type EnvSource =
  | { configMapKeyRef: { name: string; key: string; optional: boolean } }
  | { secretKeyRef: { name: string; key: string; optional: boolean } }
  | { fieldRef: { fieldPath: string } }
  | { resourceFieldRef: { containerName: string; resource: string; divisor: string } };

export type StoredEnvVar = { name: string; value: string } | { name: string; valueFrom: EnvSource };

export interface StoredEnvFrom {
  prefix: string;
  configMapRef?: { name: string; optional: boolean };
  secretRef?: { name: string; optional: boolean };
}

/** A container as stored: the wire container, but with its environment still referencing sources. */
export type StoredContainer = Omit<ContainerTemplateInput, "env"> & {
  env: StoredEnvVar[];
  envFrom?: StoredEnvFrom[];
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  startupProbe?: Probe;
  lifecycle?: { postStart?: Handler; preStop?: Handler };
};

export interface KeyToPath {
  key: string;
  path: string;
  mode?: number;
}

export type StoredVolume =
  | { name: string; type: "emptyDir"; medium: "" | "Memory"; sizeLimitBytes?: number }
  | {
      name: string;
      type: "configMap" | "secret";
      /** The ConfigMap's or Secret's name. */
      source: string;
      items?: KeyToPath[];
      defaultMode: number;
      optional: boolean;
    }
  | {
      name: string;
      type: "persistentVolumeClaim";
      /** The PersistentVolumeClaim's name, in the pod's namespace. */
      claimName: string;
      readOnly: boolean;
    };

export interface Toleration {
  key?: string;
  operator?: "Equal" | "Exists";
  value?: string;
  effect?: string;
}

export interface PodTemplate {
  /** The template's own labels and annotations (each pod gets them). */
  metadata?: { labels: Record<string, string>; annotations: Record<string, string> };
  containers: StoredContainer[];
  initContainers?: StoredContainer[];
  volumes?: StoredVolume[];
  restartPolicy?: "Always" | "OnFailure" | "Never";
  terminationGracePeriodSeconds?: number;
  activeDeadlineSeconds?: number;
  nodeSelector: Record<string, string>;
  tolerations: Toleration[];
  priority: number;
  /** The PriorityClass that gave `priority` (the one named, or the global default), when one did. */
  priorityClassName?: string;
  /** From the PriorityClass (or the spec); PreemptLowerPriority when absent. */
  preemptionPolicy?: "PreemptLowerPriority" | "Never";
  /** Kubernetes' `affinity` (node affinity, pod affinity and anti-affinity), as written. */
  affinity?: AffinityInput;
  /** Kubernetes' `topologySpreadConstraints`, as written. */
  topologySpreadConstraints?: TopologySpreadConstraintInput[];
  /** `spec.hostname` and `spec.subdomain`: the pod's hostname, and its DNS name under the headless Service `subdomain` names. */
  hostname?: string;
  subdomain?: string;
  /** Pod-level security settings after admission (Pod Security "restricted"). */
  securityContext?: { runAsUser?: number; runAsGroup?: number; fsGroup?: number };
  /** A Deployment's rollout strategy (it does not change the pods; kept beside the template). */
  rollout: { maxSurge: number | string; maxUnavailable: number | string };
}

/** Templates stored before a field existed read as Kubernetes' defaults. */
export function templateDefaults(
  t: PodTemplate,
): Required<
  Pick<PodTemplate, "initContainers" | "volumes" | "restartPolicy" | "terminationGracePeriodSeconds">
> & { labels: Record<string, string>; annotations: Record<string, string> } {
  return {
    initContainers: t.initContainers ?? [],
    volumes: t.volumes ?? [],
    restartPolicy: t.restartPolicy ?? "Always",
    terminationGracePeriodSeconds: t.terminationGracePeriodSeconds ?? 30,
    labels: t.metadata?.labels ?? {},
    annotations: t.metadata?.annotations ?? {},
  };
}
