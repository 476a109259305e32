import { formatMemoryBytes, parseImageReference, parseMemoryBytes, ValidationError } from "@berth/core";
import type { Handler, Probe } from "@berth/protocol";
import type { ContainerInput } from "./container";
import type { EnvFromInput, EnvVarInput } from "./env";
import { type LimitPolicy, PLATFORM_RESOURCE_POLICY, type ResourcePolicy } from "./limit-range";
import { admitContainerSecurity, admitPodSecurity } from "./pod-security";
import { admitPriority, type PriorityClassRef } from "./priority";
import type { HandlerInput, ProbeInput } from "./probe";
import { checkPodTotals, containerResources } from "./resources";
import type { PodTemplateInput } from "./spec";
import type { PodTemplate, StoredContainer, StoredEnvFrom, StoredEnvVar, StoredVolume } from "./template";
import { checkPodLimitPolicy, podTotals } from "./totals";
import type { VolumeInput } from "./volumes";

function invalid(path: string, message: string): never {
  throw new ValidationError(`${path}: ${message}`, [{ path, message }]);
}

/** Kubernetes' default pull policy: Always for `:latest` or no tag, else IfNotPresent. */
export function defaultPullPolicy(image: string): "Always" | "IfNotPresent" {
  if (image.includes("@")) return "IfNotPresent";
  const tag = image.slice(image.lastIndexOf("/") + 1).split(":")[1];
  return tag === undefined || tag === "latest" ? "Always" : "IfNotPresent";
}

function portNumber(
  port: number | string,
  ports: readonly { containerPort: number; name?: string | undefined }[],
  path: string,
): number {
  if (typeof port === "number") return port;
  const named = ports.find((p) => p.name === port);
  if (!named) invalid(path, `no port of the container is named ${JSON.stringify(port)}`);
  return named.containerPort;
}

function handlerOf(h: HandlerInput | ProbeInput, c: ContainerInput, path: string): Handler {
  const ports = c.ports ?? [];
  return {
    ...(h.exec ? { exec: { command: h.exec.command } } : {}),
    ...(h.httpGet
      ? {
          httpGet: {
            path: h.httpGet.path ?? "/",
            port: portNumber(h.httpGet.port, ports, `${path}.httpGet.port`),
            ...(h.httpGet.host ? { host: h.httpGet.host } : {}),
            scheme: h.httpGet.scheme ?? "HTTP",
            httpHeaders: h.httpGet.httpHeaders ?? [],
          },
        }
      : {}),
    ...(h.tcpSocket
      ? {
          tcpSocket: {
            port: portNumber(h.tcpSocket.port, ports, `${path}.tcpSocket.port`),
            ...(h.tcpSocket.host ? { host: h.tcpSocket.host } : {}),
          },
        }
      : {}),
    ...("sleep" in h && h.sleep ? { sleep: { seconds: h.sleep.seconds } } : {}),
  };
}

/** A probe with Kubernetes' defaults: period 10 s, timeout 1 s, success 1, failure 3. */
function probeOf(p: ProbeInput, c: ContainerInput, path: string, kind: string): Probe {
  const successThreshold = p.successThreshold ?? 1;
  if (kind !== "readinessProbe" && successThreshold !== 1)
    invalid(`${path}.successThreshold`, "must be 1 for liveness and startup probes");
  return {
    ...handlerOf(p, c, path),
    initialDelaySeconds: p.initialDelaySeconds ?? 0,
    periodSeconds: p.periodSeconds ?? 10,
    timeoutSeconds: p.timeoutSeconds ?? 1,
    successThreshold,
    failureThreshold: p.failureThreshold ?? 3,
    ...(p.terminationGracePeriodSeconds !== undefined
      ? { terminationGracePeriodSeconds: p.terminationGracePeriodSeconds }
      : {}),
  };
}

function envOf(e: EnvVarInput): StoredEnvVar {
  const f = e.valueFrom;
  if (!f) return { name: e.name, value: e.value ?? "" };
  if (f.configMapKeyRef)
    return {
      name: e.name,
      valueFrom: { configMapKeyRef: { ...f.configMapKeyRef, optional: f.configMapKeyRef.optional ?? false } },
    };
  if (f.secretKeyRef)
    return {
      name: e.name,
      valueFrom: { secretKeyRef: { ...f.secretKeyRef, optional: f.secretKeyRef.optional ?? false } },
    };
  if (f.fieldRef) return { name: e.name, valueFrom: { fieldRef: { fieldPath: f.fieldRef.fieldPath } } };
  const r = f.resourceFieldRef as NonNullable<typeof f.resourceFieldRef>;
  return {
    name: e.name,
    valueFrom: {
      resourceFieldRef: {
        containerName: r.containerName ?? "",
        resource: r.resource,
        divisor: String(r.divisor ?? "1"),
      },
    },
  };
}

function envFromOf(e: EnvFromInput): StoredEnvFrom {
  return {
    prefix: e.prefix ?? "",
    ...(e.configMapRef
      ? { configMapRef: { name: e.configMapRef.name, optional: e.configMapRef.optional ?? false } }
      : {}),
    ...(e.secretRef
      ? { secretRef: { name: e.secretRef.name, optional: e.secretRef.optional ?? false } }
      : {}),
  };
}

function volumeOf(v: VolumeInput, path: string): StoredVolume {
  if (v.emptyDir) {
    const size = v.emptyDir.sizeLimit;
    return {
      name: v.name,
      type: "emptyDir",
      medium: v.emptyDir.medium ?? "",
      ...(size !== undefined ? { sizeLimitBytes: parseMemoryBytes(size, `${path}.emptyDir.sizeLimit`) } : {}),
    };
  }
  if (v.persistentVolumeClaim)
    return {
      name: v.name,
      type: "persistentVolumeClaim",
      claimName: v.persistentVolumeClaim.claimName,
      readOnly: v.persistentVolumeClaim.readOnly ?? false,
    };
  if (v.configMap)
    return {
      name: v.name,
      type: "configMap",
      source: v.configMap.name,
      ...(v.configMap.items ? { items: v.configMap.items } : {}),
      defaultMode: v.configMap.defaultMode ?? 0o644,
      optional: v.configMap.optional ?? false,
    };
  const s = v.secret as NonNullable<typeof v.secret>;
  return {
    name: v.name,
    type: "secret",
    source: s.secretName,
    ...(s.items ? { items: s.items } : {}),
    defaultMode: s.defaultMode ?? 0o644,
    optional: s.optional ?? false,
  };
}

function containerOf(
  c: ContainerInput,
  path: string,
  pod: ReturnType<typeof admitPodSecurity>,
  volumeNames: ReadonlySet<string>,
  init: boolean,
  policy: LimitPolicy,
): StoredContainer {
  const seen = new Set<string>();
  const names = new Set<string>();
  (c.ports ?? []).forEach((p, i) => {
    const key = `${p.containerPort}/${p.protocol ?? "TCP"}`;
    if (seen.has(key)) invalid(`${path}.ports[${i}]`, `containerPort ${key} is used twice in the container`);
    seen.add(key);
    if (p.name !== undefined) {
      if (names.has(p.name)) invalid(`${path}.ports[${i}].name`, `port name ${p.name} is used twice`);
      names.add(p.name);
    }
  });
  const mounts = new Set<string>();
  (c.volumeMounts ?? []).forEach((m, i) => {
    if (!volumeNames.has(m.name)) invalid(`${path}.volumeMounts[${i}].name`, `no volume is named ${m.name}`);
    if (mounts.has(m.mountPath))
      invalid(`${path}.volumeMounts[${i}].mountPath`, `${m.mountPath} is mounted twice`);
    mounts.add(m.mountPath);
  });
  if (init) {
    for (const probe of ["livenessProbe", "readinessProbe", "startupProbe", "lifecycle"] as const)
      if (c[probe] !== undefined)
        invalid(`${path}.${probe}`, "init containers may not have probes or lifecycle hooks");
    if ((c.ports ?? []).length > 0) invalid(`${path}.ports`, "init containers may not publish ports");
  }
  const image = parseImageReference(c.image, `${path}.image`).normalised;
  return {
    name: c.name,
    image,
    imagePullPolicy: c.imagePullPolicy ?? defaultPullPolicy(c.image),
    ...(c.command && c.command.length > 0 ? { command: c.command } : {}),
    ...(c.args && c.args.length > 0 ? { args: c.args } : {}),
    ...(c.workingDir ? { workingDir: c.workingDir } : {}),
    env: (c.env ?? []).map(envOf),
    ...(c.envFrom && c.envFrom.length > 0 ? { envFrom: c.envFrom.map(envFromOf) } : {}),
    ports: (c.ports ?? []).map((p) => ({
      containerPort: p.containerPort,
      protocol: p.protocol ?? "TCP",
      ...(p.name ? { name: p.name } : {}),
    })),
    ...containerResources(c.resources, path, policy),
    ...(c.readinessProbe
      ? { readinessProbe: probeOf(c.readinessProbe, c, `${path}.readinessProbe`, "readinessProbe") }
      : {}),
    ...(c.livenessProbe
      ? { livenessProbe: probeOf(c.livenessProbe, c, `${path}.livenessProbe`, "livenessProbe") }
      : {}),
    ...(c.startupProbe
      ? { startupProbe: probeOf(c.startupProbe, c, `${path}.startupProbe`, "startupProbe") }
      : {}),
    ...(c.lifecycle
      ? {
          lifecycle: {
            ...(c.lifecycle.postStart
              ? { postStart: handlerOf(c.lifecycle.postStart, c, `${path}.lifecycle.postStart`) }
              : {}),
            ...(c.lifecycle.preStop
              ? { preStop: handlerOf(c.lifecycle.preStop, c, `${path}.lifecycle.preStop`) }
              : {}),
          },
        }
      : {}),
    volumeMounts: (c.volumeMounts ?? []).map((m) => ({
      name: m.name,
      mountPath: m.mountPath,
      readOnly: m.readOnly ?? false,
      ...(m.subPath ? { subPath: m.subPath } : {}),
    })),
    securityContext: admitContainerSecurity(c, pod, path),
  };
}

export interface NormaliseOptions {
  /** Where the pod spec sits in the manifest, for messages: `spec.template.spec`. */
  at: string;
  /** How many pods of this template may run at once (for the total-size check). */
  replicas: number;
  /** The namespace's LimitRanges (defaults, minimums, maximums, ratios); the platform's when absent. */
  policy?: ResourcePolicy;
  /** The cluster's PriorityClasses, for `priorityClassName` (none when absent). */
  priorityClasses?: readonly PriorityClassRef[];
}

/**
 * A pod template as written (Kubernetes' PodTemplateSpec) → as stored: admitted against Pod
 * Security "restricted", every default applied, quantities exact, names cross-checked. Errors
 * name the field (`spec.template.spec.containers[0].livenessProbe.httpGet.port: …`).
 */
export function normalisePodTemplate(
  input: PodTemplateInput,
  opts: NormaliseOptions,
): Omit<PodTemplate, "rollout"> {
  const spec = input.spec;
  const at = opts.at;
  if (spec.priority !== undefined && spec.priorityClassName === undefined && Math.abs(spec.priority) > 1000)
    invalid(`${at}.priority`, "must be within -1000..1000 without a priorityClassName");
  const admittedPriority = admitPriority(spec, opts.priorityClasses ?? [], at);
  const policy = opts.policy ?? PLATFORM_RESOURCE_POLICY;
  const pod = admitPodSecurity(spec.securityContext, `${at}.securityContext`);
  const volumeNames = new Set<string>();
  const volumes = (spec.volumes ?? []).map((v, i) => {
    if (volumeNames.has(v.name)) invalid(`${at}.volumes[${i}].name`, `volume name ${v.name} is used twice`);
    volumeNames.add(v.name);
    return volumeOf(v, `${at}.volumes[${i}]`);
  });
  const containerNames = new Set<string>();
  const each = (list: readonly ContainerInput[], field: string, init: boolean) =>
    list.map((c, i) => {
      const path = `${at}.${field}[${i}]`;
      if (containerNames.has(c.name))
        invalid(`${path}.name`, `container name ${c.name} is used twice in the pod`);
      containerNames.add(c.name);
      return containerOf(c, path, pod, volumeNames, init, policy.container);
    });
  const initContainers = each(spec.initContainers ?? [], "initContainers", true);
  const containers = each(spec.containers, "containers", false);
  checkPodTotals(containers, opts.replicas, `${at}.containers`);
  checkPodLimitPolicy(podTotals({ containers, initContainers }), policy.pod, at);
  for (const v of volumes)
    if (v.type === "emptyDir" && v.medium === "Memory" && v.sizeLimitBytes !== undefined) {
      const memory = containers.reduce((n, c) => n + c.limits.memoryBytes, 0);
      if (v.sizeLimitBytes > memory)
        invalid(
          `${at}.volumes`,
          `a Memory emptyDir of ${formatMemoryBytes(v.sizeLimitBytes)} is more than the pod's memory limit`,
        );
    }
  return {
    metadata: { labels: input.metadata?.labels ?? {}, annotations: input.metadata?.annotations ?? {} },
    containers,
    initContainers,
    volumes,
    restartPolicy: spec.restartPolicy ?? "Always",
    terminationGracePeriodSeconds: spec.terminationGracePeriodSeconds ?? 30,
    ...(spec.activeDeadlineSeconds !== undefined
      ? { activeDeadlineSeconds: spec.activeDeadlineSeconds }
      : {}),
    nodeSelector: spec.nodeSelector ?? {},
    tolerations: spec.tolerations ?? [],
    ...admittedPriority,
    ...(spec.affinity && Object.keys(spec.affinity).length > 0 ? { affinity: spec.affinity } : {}),
    ...(spec.topologySpreadConstraints && spec.topologySpreadConstraints.length > 0
      ? { topologySpreadConstraints: spec.topologySpreadConstraints }
      : {}),
    ...(spec.hostname !== undefined ? { hostname: spec.hostname } : {}),
    ...(spec.subdomain !== undefined ? { subdomain: spec.subdomain } : {}),
    securityContext: {
      ...(pod.runAsUser !== undefined ? { runAsUser: pod.runAsUser } : {}),
      ...(pod.runAsGroup !== undefined ? { runAsGroup: pod.runAsGroup } : {}),
      ...(pod.fsGroup !== undefined ? { fsGroup: pod.fsGroup } : {}),
    },
  };
}
