import { parseCpuMillis, parseMemoryBytes } from "@berth/core";
import { type ContainerTemplateInput, diskSerialOf, type Volume, type VolumeFile } from "@berth/protocol";
import type { EnvSource, PodTemplate, StoredContainer, StoredVolume } from "./template";
import { templateDefaults } from "./template";

/**
 * What a pod's references point at, for one pod on one node: the ConfigMaps and Secrets of its
 * namespace that it names (and only those), and the facts `fieldRef` may ask for.
 */
export interface ResolveContext {
  configMaps: ReadonlyMap<string, { data: Record<string, string>; binaryData: Record<string, string> }>;
  /** Secret values as base64. */
  secrets: ReadonlyMap<string, Record<string, string>>;
  /** The pod's namespace's PersistentVolumeClaims it names: claim name → claim uid (absent: none). */
  claims?: ReadonlyMap<string, string>;
  pod: {
    name: string;
    namespace: string;
    uid: string;
    nodeName: string;
    podIP: string;
    hostIP: string;
    serviceAccountName: string;
    labels: Record<string, string>;
    annotations: Record<string, string>;
  };
}

/** The pod as its node runs it: every reference replaced by its value. */
export interface ResolvedPod {
  containers: ContainerTemplateInput[];
  initContainers: ContainerTemplateInput[];
  volumes: Volume[];
  restartPolicy: "Always" | "OnFailure" | "Never";
  terminationGracePeriodSeconds: number;
}

/** Kubernetes' reason when a reference cannot be resolved: the pod waits, the message says why. */
export class ConfigError extends Error {
  readonly reason = "CreateContainerConfigError";
}

/** The names of the ConfigMaps and Secrets a template refers to (to load just those). */
export function referencedObjects(t: PodTemplate): {
  configMaps: Set<string>;
  secrets: Set<string>;
  claims: Set<string>;
} {
  const claims = new Set<string>();
  const configMaps = new Set<string>();
  const secrets = new Set<string>();
  const d = templateDefaults(t);
  for (const c of [...d.initContainers, ...t.containers]) {
    for (const e of c.env)
      if ("valueFrom" in e) {
        if ("configMapKeyRef" in e.valueFrom) configMaps.add(e.valueFrom.configMapKeyRef.name);
        if ("secretKeyRef" in e.valueFrom) secrets.add(e.valueFrom.secretKeyRef.name);
      }
    for (const f of c.envFrom ?? []) {
      if (f.configMapRef) configMaps.add(f.configMapRef.name);
      if (f.secretRef) secrets.add(f.secretRef.name);
    }
  }
  for (const v of d.volumes) {
    if (v.type === "configMap") configMaps.add(v.source);
    if (v.type === "secret") secrets.add(v.source);
    if (v.type === "persistentVolumeClaim") claims.add(v.claimName);
  }
  return { configMaps, secrets, claims };
}

const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;
const decode = (b64: string) => Buffer.from(b64, "base64").toString("utf8");

function configMapValues(ctx: ResolveContext, name: string): Record<string, string> | undefined {
  const cm = ctx.configMaps.get(name);
  if (!cm) return undefined;
  return { ...cm.data, ...Object.fromEntries(Object.entries(cm.binaryData).map(([k, v]) => [k, decode(v)])) };
}

function fieldValue(fieldPath: string, ctx: ResolveContext): string {
  const p = ctx.pod;
  const simple: Record<string, string> = {
    "metadata.name": p.name,
    "metadata.namespace": p.namespace,
    "metadata.uid": p.uid,
    "spec.nodeName": p.nodeName,
    "spec.serviceAccountName": p.serviceAccountName,
    "status.podIP": p.podIP,
    "status.hostIP": p.hostIP,
  };
  if (fieldPath in simple) return simple[fieldPath] ?? "";
  const m = /^metadata\.(labels|annotations)\['([^']+)'\]$/.exec(fieldPath);
  if (m) return (m[1] === "labels" ? p.labels : p.annotations)[m[2] ?? ""] ?? "";
  throw new ConfigError(`fieldRef ${fieldPath} is not supported`);
}

function resourceValue(
  ref: Extract<EnvSource, { resourceFieldRef: unknown }>["resourceFieldRef"],
  c: StoredContainer,
): string {
  const limits = ref.resource.startsWith("limits.");
  if (ref.resource.endsWith(".cpu")) {
    const millis = limits ? c.limits.cpuMillis : c.resources.cpuMillis;
    const divisor = parseCpuMillis(ref.divisor === "1" ? "1" : ref.divisor);
    return String(Math.ceil(millis / Math.max(1, divisor)));
  }
  const bytes = limits ? c.limits.memoryBytes : c.resources.memoryBytes;
  const divisor = parseMemoryBytes(ref.divisor);
  return String(Math.ceil(bytes / Math.max(1, divisor)));
}

function resolveEnv(c: StoredContainer, ctx: ResolveContext, byName: Map<string, StoredContainer>) {
  const env = new Map<string, string>();
  for (const f of c.envFrom ?? []) {
    const ref = f.configMapRef ?? f.secretRef;
    if (!ref) continue;
    const values = f.configMapRef ? configMapValues(ctx, ref.name) : ctx.secrets.get(ref.name);
    if (!values) {
      if (ref.optional) continue;
      throw new ConfigError(`${f.configMapRef ? "configmap" : "secret"} "${ref.name}" not found`);
    }
    for (const [k, v] of Object.entries(values)) {
      const name = `${f.prefix}${k}`;
      if (ENV_NAME.test(name)) env.set(name, f.secretRef ? decode(v) : v);
    }
  }
  for (const e of c.env) {
    if ("value" in e) {
      env.set(e.name, e.value);
      continue;
    }
    const src = e.valueFrom;
    if ("configMapKeyRef" in src || "secretKeyRef" in src) {
      const secret = "secretKeyRef" in src;
      const ref = secret ? src.secretKeyRef : src.configMapKeyRef;
      const values = secret ? ctx.secrets.get(ref.name) : configMapValues(ctx, ref.name);
      const value = values?.[ref.key];
      if (value === undefined) {
        if (ref.optional) continue;
        throw new ConfigError(
          values
            ? `couldn't find key ${ref.key} in ${secret ? "Secret" : "ConfigMap"} ${ctx.pod.namespace}/${ref.name}`
            : `${secret ? "secret" : "configmap"} "${ref.name}" not found`,
        );
      }
      env.set(e.name, secret ? decode(value) : value);
    } else if ("fieldRef" in src) env.set(e.name, fieldValue(src.fieldRef.fieldPath, ctx));
    else {
      const target = src.resourceFieldRef.containerName ? byName.get(src.resourceFieldRef.containerName) : c;
      if (!target)
        throw new ConfigError(`resourceFieldRef names no container ${src.resourceFieldRef.containerName}`);
      env.set(e.name, resourceValue(src.resourceFieldRef, target));
    }
  }
  return [...env].map(([name, value]) => ({ name, value }));
}

function resolveVolume(v: StoredVolume, ctx: ResolveContext): Volume | null {
  if (v.type === "emptyDir")
    return {
      name: v.name,
      type: "emptyDir",
      medium: v.medium,
      ...(v.sizeLimitBytes !== undefined ? { sizeLimitBytes: v.sizeLimitBytes } : {}),
    };
  if (v.type === "persistentVolumeClaim") {
    const claimId = ctx.claims?.get(v.claimName);
    if (!claimId) throw new ConfigError(`persistentvolumeclaim "${v.claimName}" not found`);
    return { name: v.name, type: v.type, claimId, serial: diskSerialOf(claimId), readOnly: v.readOnly };
  }
  const secret = v.type === "secret";
  const raw = secret
    ? ctx.secrets.get(v.source)
    : (() => {
        const cm = ctx.configMaps.get(v.source);
        if (!cm) return undefined;
        return {
          ...Object.fromEntries(
            Object.entries(cm.data).map(([k, s]) => [k, Buffer.from(s, "utf8").toString("base64")]),
          ),
          ...cm.binaryData,
        };
      })();
  if (!raw) {
    if (v.optional) return { name: v.name, type: v.type, files: [] };
    throw new ConfigError(`${secret ? "secret" : "configmap"} "${v.source}" not found`);
  }
  const files: VolumeFile[] = [];
  const items: { key: string; path: string; mode?: number }[] =
    v.items ?? Object.keys(raw).map((key) => ({ key, path: key }));
  for (const item of items) {
    const data = raw[item.key];
    if (data === undefined) {
      if (v.optional) continue;
      throw new ConfigError(
        `couldn't find key ${item.key} in ${secret ? "Secret" : "ConfigMap"} ${ctx.pod.namespace}/${v.source}`,
      );
    }
    files.push({
      path: item.path,
      data,
      mode: item.mode ?? v.defaultMode,
    });
  }
  return { name: v.name, type: v.type, files };
}

/**
 * A stored pod template, resolved for its node: env values and volume files filled in from the
 * pod's ConfigMaps and Secrets and its own facts. Throws ConfigError (the pod waits with
 * CreateContainerConfigError) when a reference that is not optional points at nothing.
 */
export function resolvePod(t: PodTemplate, ctx: ResolveContext): ResolvedPod {
  const d = templateDefaults(t);
  const all = [...d.initContainers, ...t.containers];
  const byName = new Map(all.map((c) => [c.name, c]));
  const wire = (c: StoredContainer): ContainerTemplateInput => {
    const { envFrom: _envFrom, ...rest } = c;
    return { ...rest, env: resolveEnv(c, ctx, byName) };
  };
  return {
    containers: t.containers.map(wire),
    initContainers: d.initContainers.map(wire),
    volumes: d.volumes.map((v) => resolveVolume(v, ctx)).filter((v): v is Volume => v !== null),
    restartPolicy: d.restartPolicy,
    terminationGracePeriodSeconds: d.terminationGracePeriodSeconds,
  };
}
