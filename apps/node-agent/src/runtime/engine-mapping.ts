/**
 * Pure translation between Berth's runtime types and Docker Engine API (v1.41) bodies.
 */
import { z } from "zod";
import {
  type ContainerDiskUsage,
  type ContainerInfo,
  type ContainerSpec,
  type ContainerState,
  type ContainerStats,
  type ImageConfig,
  type Mount,
  type PortMapping,
  RuntimeError,
} from "./types";

export interface HardeningOptions {
  /** Maximum number of processes in the container. */
  pidsLimit: number;
  /**
   * "off" (the default): no user namespace; containers run as `defaultUser` unless their spec
   * names a user. "auto": each container gets a user namespace of its own (Podman's
   * `--userns=auto`), its root an unprivileged user of the host.
   */
  userNamespace?: "auto" | "off";
  /** `uid:gid` for containers without a user namespace and without a user of their own. */
  defaultUser?: string;
}

/** The user a container runs as: its own, else (without a user namespace) the unprivileged default. */
function userOf(spec: ContainerSpec, hardening: HardeningOptions): string | undefined {
  if (spec.user !== undefined) return spec.user;
  return hardening.userNamespace === "auto" ? undefined : (hardening.defaultUser ?? "65534:65534");
}

/**
 * The body of `POST /containers/create`: unprivileged, no capabilities, no swap, no engine restarts,
 * and never uid 0 of the host (a user namespace, or a non-root user).
 */
export function toCreateBody(spec: ContainerSpec, hardening: HardeningOptions): Record<string, unknown> {
  const command = nonEmpty(spec.command);
  const args = nonEmpty(spec.args);
  const exposedPorts: Record<string, Record<string, never>> = {};
  const portBindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
  // In a sandbox's namespaces the sandbox publishes the ports and holds hostname and resolver.
  const sandbox = spec.sandboxId;
  for (const p of sandbox ? [] : spec.ports) {
    const key = `${p.containerPort}/${p.protocol}`;
    exposedPorts[key] = {};
    const bindings = portBindings[key] ?? [];
    bindings.push({ HostIp: p.hostIp, HostPort: String(p.hostPort) });
    portBindings[key] = bindings;
  }
  const { memoryBytes, nanoCpus } = spec.resources;
  const user = userOf(spec, hardening);
  const caps = spec.capabilities ?? [];

  return {
    Image: spec.image,
    ...(user !== undefined ? { User: user } : {}),
    ...(spec.hostname !== undefined && !sandbox ? { Hostname: spec.hostname } : {}),
    // Kubernetes semantics: `command` replaces ENTRYPOINT and, with no `args`, the image CMD is
    // dropped too (an explicit empty Cmd), never appended to the new entrypoint.
    ...(command !== undefined ? { Entrypoint: command, Cmd: args ?? [] } : {}),
    ...(command === undefined && args !== undefined ? { Cmd: args } : {}),
    ...(spec.workingDir ? { WorkingDir: spec.workingDir } : {}),
    Env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
    Labels: spec.labels,
    ExposedPorts: exposedPorts,
    HostConfig: {
      Privileged: false,
      CapDrop: ["ALL"],
      ...(caps.length > 0 ? { CapAdd: caps } : {}),
      // The engine's default seccomp profile applies: it is never switched off.
      SecurityOpt: ["no-new-privileges"],
      PidsLimit: hardening.pidsLimit,
      ...(spec.readOnlyRootFilesystem ? { ReadonlyRootfs: true } : {}),
      ...(spec.groups && spec.groups.length > 0 ? { GroupAdd: spec.groups.map(String) } : {}),
      ...(spec.mounts && spec.mounts.length > 0 ? { Mounts: spec.mounts.map(toEngineMount) } : {}),
      ...(memoryBytes !== undefined ? { Memory: memoryBytes, MemorySwap: memoryBytes } : {}),
      ...(nanoCpus !== undefined ? { NanoCpus: nanoCpus } : {}),
      PortBindings: portBindings,
      RestartPolicy: { Name: "no" },
      ...(hardening.userNamespace === "auto" ? { UsernsMode: "auto" } : {}),
      // UTS too, as Kubernetes shares it: every container of a pod has the pod's hostname.
      ...(sandbox ? { NetworkMode: `container:${sandbox}`, UTSMode: `container:${sandbox}` } : {}),
      ...(spec.network && !sandbox
        ? {
            NetworkMode: spec.network.name,
            Dns: spec.network.dns,
            DnsSearch: spec.network.dnsSearch,
            DnsOptions: spec.network.dnsOptions,
          }
        : {}),
    },
    ...(spec.network && !sandbox
      ? { NetworkingConfig: { EndpointsConfig: { [spec.network.name]: {} } } }
      : {}),
  };
}

/** Docker's `HostConfig.Mounts[]` entry for a bind or a tmpfs mount. */
function toEngineMount(m: Mount): Record<string, unknown> {
  if (m.type === "bind")
    return {
      Type: "bind",
      Source: m.source,
      Target: m.target,
      ReadOnly: m.readOnly,
      BindOptions: { Propagation: "rprivate" },
    };
  const options = {
    ...(m.sizeBytes !== undefined ? { SizeBytes: m.sizeBytes } : {}),
    ...(m.mode !== undefined ? { Mode: m.mode } : {}),
  };
  return {
    Type: "tmpfs",
    Target: m.target,
    ...(Object.keys(options).length > 0 ? { TmpfsOptions: options } : {}),
  };
}

function nonEmpty(list: string[] | undefined): string[] | undefined {
  return list !== undefined && list.length > 0 ? list : undefined;
}

/**
 * Splits an image reference for `POST /images/create?fromImage=&tag=`. The tag is always given:
 * an empty tag asks Docker for every tag of the repository.
 */
export function splitImageRef(image: string): { repo: string; tag: string } {
  const at = image.indexOf("@");
  if (at !== -1) return { repo: image.slice(0, at), tag: image.slice(at + 1) };
  const colon = image.lastIndexOf(":");
  if (colon > image.lastIndexOf("/")) return { repo: image.slice(0, colon), tag: image.slice(colon + 1) };
  return { repo: image, tag: "latest" };
}

/** Path segments encoded one by one: engines route `/images/{name}/json` with the slashes raw. */
export function imagePath(image: string): string {
  return image.split("/").map(encodeURIComponent).join("/");
}

const labelsSchema = z.record(z.string(), z.string()).nullish();

const inspectSchema = z.object({
  Id: z.string(),
  Name: z.string(),
  RestartCount: z.number().nullish(),
  State: z.object({
    Status: z.string(),
    OOMKilled: z.boolean().nullish(),
    ExitCode: z.number().nullish(),
    StartedAt: z.string().nullish(),
    FinishedAt: z.string().nullish(),
  }),
  Config: z.object({ Image: z.string().nullish(), Labels: labelsSchema }),
  Image: z.string().nullish(),
  NetworkSettings: z
    .object({
      IPAddress: z.string().nullish(),
      Networks: z.record(z.string(), z.object({ IPAddress: z.string().nullish() }).nullish()).nullish(),
    })
    .nullish(),
  HostConfig: z
    .object({
      NetworkMode: z.string().nullish(),
      PortBindings: z
        .record(
          z.string(),
          z.array(z.object({ HostIp: z.string().nullish(), HostPort: z.string().nullish() })).nullish(),
        )
        .nullish(),
    })
    .nullish(),
});

const diskUsageSchema = z.array(
  z.object({ Id: z.string(), Labels: labelsSchema, SizeRw: z.number().nullish() }),
);

const listSchema = z.array(z.object({ Id: z.string(), State: z.string().nullish() }));

const statsSchema = z.object({
  cpu_stats: z.object({ cpu_usage: z.object({ total_usage: z.number() }).nullish() }).nullish(),
  memory_stats: z
    .object({ usage: z.number().nullish(), stats: z.record(z.string(), z.number()).nullish() })
    .nullish(),
  networks: z
    .record(
      z.string(),
      z.object({ rx_bytes: z.number().nullish(), tx_bytes: z.number().nullish() }).nullish(),
    )
    .nullish(),
});

function parseBody<T>(schema: z.ZodType<T>, body: Buffer, what: string): T {
  let json: unknown;
  try {
    json = JSON.parse(body.toString("utf8"));
  } catch (cause) {
    throw new RuntimeError("FAILED", `${what}: engine sent invalid JSON`, { cause });
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    throw new RuntimeError("FAILED", `${what}: unexpected engine response: ${parsed.error.message}`);
  }
  return parsed.data;
}

const KNOWN_STATES: ReadonlySet<string> = new Set<ContainerState>([
  "created",
  "running",
  "exited",
  "paused",
  "restarting",
  "removing",
  "dead",
]);

/** Docker's states pass through; Podman's own names, should they leak, are folded into Docker's. */
export function toContainerState(status: string): ContainerState {
  const s = status.toLowerCase();
  if (KNOWN_STATES.has(s)) return s as ContainerState;
  if (s === "configured" || s === "initialized") return "created";
  if (s === "stopped") return "exited";
  if (s === "stopping") return "running";
  return "unknown";
}

/** Engines report "never" as Go's zero time. */
function timeOrNull(value: string | null | undefined): string | null {
  if (!value || value.startsWith("0001-01-01")) return null;
  return value;
}

export function toContainerInfo(body: Buffer): ContainerInfo {
  const c = parseBody(inspectSchema, body, "inspect container");
  const state = toContainerState(c.State.Status);
  const ended = state === "exited" || state === "dead";
  return {
    id: c.Id,
    name: c.Name.replace(/^\//, ""),
    image: c.Config.Image ?? c.Image ?? "",
    labels: c.Config.Labels ?? {},
    state,
    exitCode: ended ? (c.State.ExitCode ?? null) : null,
    startedAt: timeOrNull(c.State.StartedAt),
    finishedAt: ended ? timeOrNull(c.State.FinishedAt) : null,
    restartCount: c.RestartCount ?? 0,
    ports: toPortMappings(c.HostConfig?.PortBindings ?? {}),
    oomKilled: c.State.OOMKilled ?? false,
    ipAddress: state === "running" ? addressOf(c.NetworkSettings) : null,
    sandboxId: c.HostConfig?.NetworkMode?.startsWith("container:")
      ? c.HostConfig.NetworkMode.slice("container:".length)
      : null,
    imageId: c.Image ?? "",
  };
}

/** The container's own address: Docker's top-level one, else its first network's. */
function addressOf(n: z.infer<typeof inspectSchema>["NetworkSettings"]): string | null {
  if (n?.IPAddress) return n.IPAddress;
  for (const net of Object.values(n?.Networks ?? {})) if (net?.IPAddress) return net.IPAddress;
  return null;
}

const imageSchema = z.object({
  Id: z.string(),
  RepoDigests: z.array(z.string()).nullish(),
  Config: z.object({ User: z.string().nullish() }).nullish(),
});

/**
 * `GET /images/{name}/json`: the image's id, digest and configured user. Of its repository digests
 * (one per repository and manifest it is known by), `image` itself when it is one, else one of
 * `image`'s repository when there is one.
 */
export function toImageConfig(body: Buffer, image?: string): ImageConfig {
  const i = parseBody(imageSchema, body, "inspect image");
  const digests = i.RepoDigests ?? [];
  const repo = image === undefined ? undefined : splitImageRef(image).repo;
  // An image known by several manifests (pushed from here, then pulled by digest) lists one digest
  // each: a reference by digest names its own.
  const digest =
    digests.find((d) => d === image) ??
    digests.find((d) => d.slice(0, d.lastIndexOf("@")) === repo) ??
    digests[0] ??
    null;
  return { id: i.Id, digest, user: i.Config?.User ?? "" };
}

/** The registry host of a reference (its first component with a `.` or `:`, or `localhost`), else null. */
export function registryHostOf(image: string): string | null {
  const slash = image.indexOf("/");
  if (slash === -1) return null;
  const first = image.slice(0, slash);
  return /[.:]/.test(first) || first === "localhost" ? first : null;
}

/** `{"8080/tcp": [{HostIp, HostPort}]}` → one mapping per published host port. */
function toPortMappings(
  bindings: Record<string, { HostIp?: string | null; HostPort?: string | null }[] | null | undefined>,
): PortMapping[] {
  const out: PortMapping[] = [];
  for (const [key, list] of Object.entries(bindings)) {
    const [port = "", proto = "tcp"] = key.split("/");
    for (const b of list ?? []) {
      const hostPort = Number(b.HostPort);
      if (!Number.isInteger(hostPort) || hostPort <= 0) continue;
      out.push({
        containerPort: Number(port),
        hostPort,
        hostIp: b.HostIp ?? "",
        protocol: proto === "udp" ? "udp" : "tcp",
      });
    }
  }
  return out.sort((a, b) => a.hostPort - b.hostPort);
}

/** `GET /containers/json?size=true`: each container's writable layer (`SizeRw`). */
export function toDiskUsage(body: Buffer): ContainerDiskUsage[] {
  return parseBody(diskUsageSchema, body, "container sizes").map((c) => ({
    id: c.Id,
    labels: c.Labels ?? {},
    writableBytes: c.SizeRw ?? 0,
  }));
}

export function toCreatedId(body: Buffer): string {
  return parseBody(z.object({ Id: z.string().min(1) }), body, "create container").Id;
}

/** Each listed container's id and state (`running`, `exited`, …). */
export function toContainerSummaries(body: Buffer): { id: string; state: string }[] {
  return parseBody(listSchema, body, "list containers").map((c) => ({ id: c.Id, state: c.State ?? "" }));
}

/**
 * Null when the engine has nothing to report: Podman answers a stopped container with 200 and
 * an empty body, Docker with zeroed stats and no memory usage. Memory excludes the inactive page
 * cache, as `docker stats` shows it.
 */
export function toContainerStats(body: Buffer): ContainerStats | null {
  if (body.toString("utf8").trim() === "") return null;
  const s = parseBody(statsSchema, body, "container stats");
  const usage = s.memory_stats?.usage;
  const cpu = s.cpu_stats?.cpu_usage?.total_usage;
  if (usage === undefined || usage === null || cpu === undefined) return null;
  const extra = s.memory_stats?.stats ?? {};
  const inactive = extra.inactive_file ?? extra.total_inactive_file ?? 0;
  let rxBytes = 0;
  let txBytes = 0;
  for (const n of Object.values(s.networks ?? {})) {
    rxBytes += n?.rx_bytes ?? 0;
    txBytes += n?.tx_bytes ?? 0;
  }
  return { cpuNanos: cpu, memoryBytes: Math.max(0, usage - inactive), rxBytes, txBytes };
}

/** `filters` for `GET /containers/json`: every label must match. */
export function labelFilters(labels: Record<string, string>): string {
  return JSON.stringify({ label: Object.entries(labels).map(([k, v]) => `${k}=${v}`) });
}
