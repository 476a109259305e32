/**
 * ContainerRuntime over the Docker Engine API v1.41, which Podman's compat service answers too
 * (`podman system service unix://…/podman.sock`). Structured HTTP over a unix socket or TCP: no
 * shell, no CLI.
 */
import { mapLimit } from "@berth/core";
import { attachExec, type StreamDeps, streamContainerLogs } from "./docker-streams";
import { execInContainer } from "./engine-exec";
import {
  createEngineClient,
  type EngineEndpoint,
  type EngineResponse,
  engineMessage,
  responseError,
} from "./engine-http";
import { createSummaryLister, withSandboxAddresses } from "./engine-list";
import {
  type HardeningOptions,
  imagePath,
  labelFilters,
  registryHostOf,
  splitImageRef,
  toContainerInfo,
  toContainerStats,
  toCreateBody,
  toCreatedId,
  toDiskUsage,
  toImageConfig,
} from "./engine-mapping";
import { ensureNetwork, removeNetwork } from "./engine-network";
import { createKernelOomLog } from "./engine-oom";
import { demultiplexLogs, isTransientPullError, pullStreamError } from "./engine-stream";
import { InspectCache } from "./inspect-cache";
import {
  type ContainerInfo,
  type ContainerRuntime,
  type ContainerSpec,
  type ContainerStats,
  RuntimeError,
} from "./types";

export interface DockerEngineRuntimeOptions {
  /** Deadline of each request, except pulls and the grace period of a stop. Default 30 s. */
  timeoutMs?: number;
  /** Deadline of an image pull. Default 5 min. */
  pullTimeoutMs?: number;
  /** Process limit of every container. Default 512. */
  pidsLimit?: number;
  /** How many containers `list` inspects at once. Default 8. */
  inspectConcurrency?: number;
  /**
   * "off" (the default): no user namespace; containers run as `defaultUser` unless their spec
   * names a user, so never as uid 0 of the host. "auto": every container gets a user namespace of
   * its own (Podman's `--userns=auto`; needs a `containers` range in /etc/subuid and /etc/subgid),
   * its root an unprivileged host user. Not the default: Podman 4.3 deadlocks (every API call hangs
   * for good) when such containers are created while other containers are created, started or
   * inspected — reproduced on the project's machines with 24 pods at once.
   */
  userNamespace?: "auto" | "off";
  /** `uid:gid` of containers without a user namespace or a user of their own. Default 65534:65534 (nobody). */
  defaultUser?: string;
  /**
   * Where OOM kills are read from besides the engine's own `State.OOMKilled` (which Podman 4.3
   * misses on hybrid cgroup hosts): the kernel log of this host (`/dev/kmsg`), or null for none.
   * Default: `/dev/kmsg` when the engine is on a unix socket (this host), else none.
   */
  kernelLog?: string | null;
  /**
   * Credentials for pulling from a registry host (`127.0.0.1:55000`), sent to the engine as
   * `X-Registry-Auth`; null: pull without. The node agent offers its node credential for Berth's
   * registry only.
   */
  registryAuth?: (host: string) => Promise<RegistryAuth | null> | RegistryAuth | null;
}

export interface RegistryAuth {
  username: string;
  password: string;
}

/** How long an image's inspection answers for it (`inspectImage`). */
const IMAGE_LOOK_MS = 2_000;

export type DockerEngineRuntimeConfig = EngineEndpoint & DockerEngineRuntimeOptions;

export function createDockerEngineRuntime(config: DockerEngineRuntimeConfig): ContainerRuntime {
  const timeoutMs = config.timeoutMs ?? 30_000;
  const pullTimeoutMs = config.pullTimeoutMs ?? 300_000;
  const hardening: HardeningOptions = {
    pidsLimit: config.pidsLimit ?? 512,
    userNamespace: config.userNamespace ?? "off",
    defaultUser: config.defaultUser ?? "65534:65534",
  };
  const inspectConcurrency = config.inspectConcurrency ?? 8;
  const endpoint: EngineEndpoint =
    "socketPath" in config ? { socketPath: config.socketPath } : { url: config.url };
  const engine = createEngineClient(endpoint, { timeoutMs });
  const containerPath = (id: string, suffix = "") => `/containers/${encodeURIComponent(id)}${suffix}`;
  const streams: StreamDeps = { endpoint, engine, timeoutMs };
  const local =
    "socketPath" in endpoint || endpoint.url.startsWith("unix://") || endpoint.url.startsWith("/");
  const kernelLog = config.kernelLog === undefined ? (local ? "/dev/kmsg" : null) : config.kernelLog;
  const oomLog = kernelLog ? createKernelOomLog(kernelLog) : null;
  const inspected = new InspectCache();
  const listSummaries = createSummaryLister(engine);

  async function inspect(id: string): Promise<ContainerInfo | null> {
    const res = await engine.request({ method: "GET", path: containerPath(id, "/json") });
    if (res.status === 404) return null;
    // Podman answers 500 "does not exist in database: no such container" for one being removed.
    if (res.status === 500 && /no such container/i.test(res.body.toString("utf8"))) return null;
    if (res.status !== 200) throw responseError(res, `inspect container ${id}`);
    const info = toContainerInfo(res.body);
    // Podman reports a sandboxed container's address as the sandbox's; Docker reports none. The
    // sandbox's, inspected running moments ago (as its pod's step does), stands.
    if (info.sandboxId && info.state === "running" && !info.ipAddress)
      info.ipAddress =
        (inspected.get(info.sandboxId, "running") ?? (await inspect(info.sandboxId)))?.ipAddress ?? null;
    if (oomLog && !info.oomKilled && (info.state === "exited" || info.state === "dead"))
      info.oomKilled = await oomLog.killed(info.id);
    // A list that shows it in this state need not ask again (a pod's step inspects what it started).
    inspected.set(info.id, info.state, info);
    return info;
  }

  /** `X-Registry-Auth` for the image's registry, when there are credentials for it. */
  async function authHeaders(image: string): Promise<Record<string, string>> {
    const host = registryHostOf(image);
    const auth = host && config.registryAuth ? await config.registryAuth(host) : null;
    if (!host || !auth) return {};
    const json = JSON.stringify({ username: auth.username, password: auth.password, serveraddress: host });
    return { "x-registry-auth": Buffer.from(json).toString("base64url") };
  }

  async function pullImage(image: string): Promise<void> {
    const { repo, tag } = splitImageRef(image);
    const res = await engine.request({
      method: "POST",
      path: "/images/create",
      query: { fromImage: repo, tag },
      headers: await authHeaders(image),
      timeoutMs: pullTimeoutMs,
    });
    // What was looked at before or during the pull may name what the pull replaced.
    imageLooks.delete(image);
    // Failures arrive either as an error status or as an error line in a 200 progress stream.
    // What the registry's address answered (refused, timed out, not a registry) says something
    // about the node's network: it goes to `detail` only, the message is always the same.
    const failure = res.status === 200 ? pullStreamError(res.body) : engineMessage(res);
    if (failure !== null) {
      throw new RuntimeError("IMAGE_NOT_FOUND", pullFailed(image), {
        retryable: isTransientPullError(failure),
        detail: failure,
      });
    }
    if (!(await imagePresent(image))) {
      throw new RuntimeError("IMAGE_NOT_FOUND", pullFailed(image), {
        detail: "the pull reported success but the image is absent",
      });
    }
  }

  /**
   * An image's inspection, shared for a moment: pods started together ask about the same images
   * (present? its config?) several times each, and each answer costs the engine ~10 ms of CPU.
   * Only "present" is kept; a pull forgets it.
   */
  const imageLooks = new Map<string, { at: number; res: Promise<EngineResponse> }>();
  function inspectImage(image: string): Promise<EngineResponse> {
    const now = Date.now();
    const hit = imageLooks.get(image);
    if (hit && now - hit.at < IMAGE_LOOK_MS) return hit.res;
    if (imageLooks.size > 64)
      for (const [k, v] of imageLooks) if (now - v.at >= IMAGE_LOOK_MS) imageLooks.delete(k);
    const look = {
      at: now,
      res: engine.request({ method: "GET", path: `/images/${imagePath(image)}/json` }),
    };
    imageLooks.set(image, look);
    const forget = () => imageLooks.get(image) === look && imageLooks.delete(image);
    look.res.then((r) => r.status !== 200 && forget(), forget);
    return look.res;
  }

  async function imagePresent(image: string): Promise<boolean> {
    const res = await inspectImage(image);
    if (res.status === 200) return true;
    if (res.status === 404) return false;
    throw responseError(res, `inspect image ${image}`);
  }

  return {
    name: "docker-engine",

    async ping() {
      const res = await engine.request({ method: "GET", path: "/_ping" });
      if (res.status !== 200) {
        throw new RuntimeError(
          "UNAVAILABLE",
          `ping ${engine.endpoint}: ${engineMessage(res)} (HTTP ${res.status})`,
          {
            retryable: true,
          },
        );
      }
    },

    async ensureImage(image) {
      if (await imagePresent(image)) return;
      await pullImage(image);
    },

    hasImage: imagePresent,
    pullImage,

    async imageConfig(image) {
      const res = await inspectImage(image);
      if (res.status === 404) return null;
      if (res.status !== 200) throw responseError(res, `inspect image ${image}`);
      return toImageConfig(res.body, image);
    },

    async create(spec: ContainerSpec) {
      const body = toCreateBody(spec, hardening);
      const send = () =>
        engine.request({
          method: "POST",
          path: "/containers/create",
          query: { name: spec.name },
          json: body,
        });
      let res = await send();
      // Docker refuses `UTSMode: container:<id>` (it shares the hostname with the network namespace
      // by itself); Podman needs it. Tried again without it when the engine says so.
      if (res.status === 400 && spec.sandboxId && /uts/i.test(engineMessage(res))) {
        delete (body.HostConfig as Record<string, unknown>).UTSMode;
        res = await send();
      }
      if (res.status !== 201 && res.status !== 200) {
        throw responseError(res, `create container ${spec.name} from ${spec.image}`, "IMAGE_NOT_FOUND");
      }
      return toCreatedId(res.body);
    },

    async start(id) {
      const res = await engine.request({ method: "POST", path: containerPath(id, "/start") });
      // 304: already running.
      if (res.status === 204 || res.status === 304) return;
      throw responseError(res, `start container ${id}`);
    },

    async stop(id, timeoutSeconds) {
      const t = Math.max(0, Math.ceil(timeoutSeconds));
      const res = await engine.request({
        method: "POST",
        path: containerPath(id, "/stop"),
        query: { t },
        // The engine waits up to t seconds before SIGKILL, then answers.
        timeoutMs: t * 1000 + timeoutMs,
      });
      // 304: already stopped; 404: gone, which is stopped enough.
      if (res.status === 204 || res.status === 304 || res.status === 404) return;
      throw responseError(res, `stop container ${id}`);
    },

    async kill(id, signal) {
      const res = await engine.request({
        method: "POST",
        path: containerPath(id, "/kill"),
        query: { signal: signal.replace(/^SIG/, "") },
      });
      if (res.status === 204 || res.status === 200 || res.status === 404) return;
      const err = responseError(res, `kill container ${id}`);
      // Not running (Docker 409, Podman 500 "can only kill running containers"): nothing to signal.
      if (err.code === "CONFLICT" || /not running|only kill running/i.test(err.message)) return;
      throw err;
    },

    execCommand(id, argv, opts) {
      return execInContainer({ engine, endpoint }, id, argv, opts);
    },

    async remove(id) {
      // Podman may still be unmounting a container that has just exited ("device or resource
      // busy" on its shm): that clears up within moments, so it is tried again for a while.
      for (let attempt = 1; ; attempt++) {
        const res = await engine.request({
          method: "DELETE",
          path: containerPath(id),
          query: { force: true, v: true },
        });
        if (res.status === 204 || res.status === 200 || res.status === 404) return;
        const err = responseError(res, `remove container ${id}`);
        if (attempt >= 8 || !/resource busy/i.test(err.message)) throw err;
        await new Promise((r) => setTimeout(r, 100 * attempt));
      }
    },

    inspect,

    async list(labelFilter) {
      // The list entries lack exit codes and times: each new or changed one is inspected (one
      // removed in between is skipped).
      const listed = await listSummaries(labelFilter);
      inspected.prune();
      const infos = await mapLimit(listed, inspectConcurrency, async ({ id, state }) => {
        const known = state === "" ? null : inspected.get(id, state);
        // The kernel's word on an OOM kill is read afresh, as `inspect` reads it.
        if (known && oomLog && !known.oomKilled && (known.state === "exited" || known.state === "dead"))
          known.oomKilled = await oomLog.killed(known.id);
        if (known) return known;
        const info = await inspect(id);
        // Remembered under the state the list showed (which `inspect` may name otherwise).
        if (info && state !== "" && state !== info.state) inspected.set(id, state, info);
        return info;
      });
      return withSandboxAddresses(infos.filter((c): c is ContainerInfo => c !== null));
    },

    async logs(id, opts) {
      const res = await engine.request({
        method: "GET",
        path: containerPath(id, "/logs"),
        query: { stdout: true, stderr: true, tail: Math.max(0, Math.floor(opts.tail)) },
      });
      if (res.status !== 200) throw responseError(res, `logs of container ${id}`);
      return demultiplexLogs(res.body);
    },

    streamLogs: (id, opts) => streamContainerLogs(streams, id, opts),

    exec: (id, spec) => attachExec(streams, id, spec),

    async diskUsage(labelFilter) {
      const res = await engine.request({
        method: "GET",
        path: "/containers/json",
        query: { all: true, size: true, filters: labelFilters(labelFilter) },
      });
      if (res.status !== 200) throw responseError(res, "container sizes");
      return toDiskUsage(res.body);
    },

    async stats(id): Promise<ContainerStats | null> {
      const res = await engine.request({
        method: "GET",
        path: containerPath(id, "/stats"),
        // one-shot: skip Docker's second sample for precpu; only the cumulative counters are used.
        query: { stream: false, "one-shot": true },
      });
      if (res.status === 404) return null;
      if (res.status !== 200) {
        const err = responseError(res, `stats of container ${id}`);
        if (err.code === "CONFLICT") return null; // not running
        throw err;
      }
      return toContainerStats(res.body);
    },

    ensureNetwork: (name, labels, subnet) => ensureNetwork(engine, name, labels, subnet),
    removeNetwork: (name) => removeNetwork(engine, name),
  };
}

/** The one thing a failed pull says: no reason, no address, no port state. */
export function pullFailed(image: string): string {
  return `could not pull image ${JSON.stringify(image)}: not found or not reachable`;
}
