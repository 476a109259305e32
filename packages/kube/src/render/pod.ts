import { formatCpuMillis, formatMemoryBytes } from "@berth/core";
import type { Handler, Probe } from "@berth/protocol";
import type { EnvSource, PodTemplate, StoredContainer, StoredVolume } from "../pod/template";
import { templateDefaults } from "../pod/template";

/**
 * Stored pod templates back in Kubernetes' shape, every default visible (as `kubectl get -o yaml`
 * shows them). What is rendered here is accepted as it is by the schemas of pod/spec.ts and
 * normalises to the same stored template: GET → edit → PUT round-trips.
 */
type Json = Record<string, unknown>;

const nonEmpty = <T>(list: readonly T[] | undefined): list is readonly T[] => (list?.length ?? 0) > 0;

function handler(h: Handler): Json {
  return {
    ...(h.exec ? { exec: { command: h.exec.command } } : {}),
    ...(h.httpGet
      ? {
          httpGet: {
            path: h.httpGet.path,
            port: h.httpGet.port,
            ...(h.httpGet.host ? { host: h.httpGet.host } : {}),
            scheme: h.httpGet.scheme,
            ...(nonEmpty(h.httpGet.httpHeaders) ? { httpHeaders: h.httpGet.httpHeaders } : {}),
          },
        }
      : {}),
    ...(h.tcpSocket
      ? { tcpSocket: { port: h.tcpSocket.port, ...(h.tcpSocket.host ? { host: h.tcpSocket.host } : {}) } }
      : {}),
    ...(h.sleep ? { sleep: { seconds: h.sleep.seconds } } : {}),
  };
}

function probe(p: Probe): Json {
  return {
    ...handler(p),
    initialDelaySeconds: p.initialDelaySeconds,
    periodSeconds: p.periodSeconds,
    timeoutSeconds: p.timeoutSeconds,
    successThreshold: p.successThreshold,
    failureThreshold: p.failureThreshold,
    ...(p.terminationGracePeriodSeconds !== undefined
      ? { terminationGracePeriodSeconds: p.terminationGracePeriodSeconds }
      : {}),
  };
}

function envSource(s: EnvSource): Json {
  if ("configMapKeyRef" in s) return { configMapKeyRef: { ...s.configMapKeyRef } };
  if ("secretKeyRef" in s) return { secretKeyRef: { ...s.secretKeyRef } };
  if ("fieldRef" in s) return { fieldRef: { apiVersion: "v1", fieldPath: s.fieldRef.fieldPath } };
  return { resourceFieldRef: { ...s.resourceFieldRef } };
}

/** One container in Kubernetes' shape: references stay references (a Secret's value never appears). */
/** A container's extended resources as quantities (their limit is their request). */
const extendedQuantities = (c: StoredContainer): Record<string, string> =>
  Object.fromEntries(Object.entries(c.resources.extended ?? {}).map(([k, v]) => [k, String(v)]));

export function renderContainer(c: StoredContainer): Json {
  const sc = c.securityContext;
  return {
    name: c.name,
    image: c.image,
    imagePullPolicy: c.imagePullPolicy ?? "IfNotPresent",
    ...(nonEmpty(c.command) ? { command: c.command } : {}),
    ...(nonEmpty(c.args) ? { args: c.args } : {}),
    ...(c.workingDir ? { workingDir: c.workingDir } : {}),
    ...(nonEmpty(c.env)
      ? {
          env: c.env.map((e) =>
            "value" in e
              ? { name: e.name, value: e.value }
              : { name: e.name, valueFrom: envSource(e.valueFrom) },
          ),
        }
      : {}),
    ...(nonEmpty(c.envFrom)
      ? {
          envFrom: c.envFrom.map((f) => ({
            ...(f.prefix ? { prefix: f.prefix } : {}),
            ...(f.configMapRef ? { configMapRef: { ...f.configMapRef } } : {}),
            ...(f.secretRef ? { secretRef: { ...f.secretRef } } : {}),
          })),
        }
      : {}),
    ...(nonEmpty(c.ports)
      ? {
          ports: c.ports.map((p) => ({
            containerPort: p.containerPort,
            protocol: p.protocol,
            ...(p.name ? { name: p.name } : {}),
          })),
        }
      : {}),
    resources: {
      requests: {
        cpu: formatCpuMillis(c.resources.cpuMillis),
        memory: formatMemoryBytes(c.resources.memoryBytes),
        ...extendedQuantities(c),
      },
      limits: {
        cpu: formatCpuMillis(c.limits.cpuMillis),
        memory: formatMemoryBytes(c.limits.memoryBytes),
        ...extendedQuantities(c),
        ...(c.limits.ephemeralStorageBytes !== undefined
          ? { "ephemeral-storage": formatMemoryBytes(c.limits.ephemeralStorageBytes) }
          : {}),
      },
    },
    ...(nonEmpty(c.volumeMounts)
      ? {
          volumeMounts: c.volumeMounts.map((m) => ({
            name: m.name,
            mountPath: m.mountPath,
            readOnly: m.readOnly ?? false,
            ...(m.subPath ? { subPath: m.subPath } : {}),
          })),
        }
      : {}),
    ...(c.readinessProbe ? { readinessProbe: probe(c.readinessProbe) } : {}),
    ...(c.livenessProbe ? { livenessProbe: probe(c.livenessProbe) } : {}),
    ...(c.startupProbe ? { startupProbe: probe(c.startupProbe) } : {}),
    ...(c.lifecycle
      ? {
          lifecycle: {
            ...(c.lifecycle.postStart ? { postStart: handler(c.lifecycle.postStart) } : {}),
            ...(c.lifecycle.preStop ? { preStop: handler(c.lifecycle.preStop) } : {}),
          },
        }
      : {}),
    securityContext: {
      ...(sc?.runAsUser !== undefined ? { runAsUser: sc.runAsUser } : {}),
      ...(sc?.runAsGroup !== undefined ? { runAsGroup: sc.runAsGroup } : {}),
      runAsNonRoot: true,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: sc?.readOnlyRootFilesystem ?? false,
      capabilities: {
        ...(nonEmpty(sc?.capabilitiesAdd) ? { add: sc?.capabilitiesAdd } : {}),
        drop: ["ALL"],
      },
      seccompProfile: { type: "RuntimeDefault" },
    },
  };
}

function volume(v: StoredVolume): Json {
  if (v.type === "emptyDir")
    return {
      name: v.name,
      emptyDir: {
        ...(v.medium ? { medium: v.medium } : {}),
        ...(v.sizeLimitBytes !== undefined ? { sizeLimit: formatMemoryBytes(v.sizeLimitBytes) } : {}),
      },
    };
  if (v.type === "persistentVolumeClaim")
    return {
      name: v.name,
      persistentVolumeClaim: { claimName: v.claimName, ...(v.readOnly ? { readOnly: true } : {}) },
    };
  const common = {
    ...(v.items ? { items: v.items } : {}),
    defaultMode: v.defaultMode,
    optional: v.optional,
  };
  return v.type === "configMap"
    ? { name: v.name, configMap: { name: v.source, ...common } }
    : { name: v.name, secret: { secretName: v.source, ...common } };
}

/** A pod's `spec` from its stored template (what Pods, and the templates of controllers, show). */
export function renderPodSpec(t: PodTemplate): Json {
  const d = templateDefaults(t);
  const sc = t.securityContext ?? {};
  return {
    ...(nonEmpty(d.initContainers) ? { initContainers: d.initContainers.map(renderContainer) } : {}),
    containers: t.containers.map(renderContainer),
    ...(nonEmpty(d.volumes) ? { volumes: d.volumes.map(volume) } : {}),
    restartPolicy: d.restartPolicy,
    terminationGracePeriodSeconds: d.terminationGracePeriodSeconds,
    ...(t.activeDeadlineSeconds !== undefined ? { activeDeadlineSeconds: t.activeDeadlineSeconds } : {}),
    ...(Object.keys(t.nodeSelector ?? {}).length > 0 ? { nodeSelector: t.nodeSelector } : {}),
    ...(nonEmpty(t.tolerations) ? { tolerations: t.tolerations } : {}),
    ...(t.hostname !== undefined ? { hostname: t.hostname } : {}),
    ...(t.subdomain !== undefined ? { subdomain: t.subdomain } : {}),
    ...(t.affinity ? { affinity: t.affinity } : {}),
    ...(nonEmpty(t.topologySpreadConstraints)
      ? { topologySpreadConstraints: t.topologySpreadConstraints }
      : {}),
    ...(t.priorityClassName ? { priorityClassName: t.priorityClassName } : {}),
    priority: t.priority ?? 0,
    ...(t.preemptionPolicy ? { preemptionPolicy: t.preemptionPolicy } : {}),
    securityContext: {
      ...(sc.runAsUser !== undefined ? { runAsUser: sc.runAsUser } : {}),
      ...(sc.runAsGroup !== undefined ? { runAsGroup: sc.runAsGroup } : {}),
      ...(sc.fsGroup !== undefined ? { fsGroup: sc.fsGroup } : {}),
      runAsNonRoot: true,
      seccompProfile: { type: "RuntimeDefault" },
    },
  };
}

/** A controller's `spec.template`: the template's own labels and annotations, and the pod spec. */
export function renderPodTemplate(t: PodTemplate): { metadata: Json; spec: Json } {
  const d = templateDefaults(t);
  return {
    metadata: {
      ...(Object.keys(d.labels).length > 0 ? { labels: d.labels } : {}),
      ...(Object.keys(d.annotations).length > 0 ? { annotations: d.annotations } : {}),
    },
    spec: renderPodSpec(t),
  };
}
