import {
  type HeartbeatReply,
  type HeartbeatRequest,
  heartbeatReplySchema,
  type JoinReply,
  type JoinRequest,
  joinReplySchema,
  type MetricsBatch,
  type MetricsReply,
  metricsReplySchema,
  type NetworkView,
  type NodeCertificateReply,
  type NodeCertificateRequest,
  type NodeChannelOperation,
  networkViewSchema,
  nodeCertificateReplySchema,
  STREAM_POLL_MAX_WAIT_MS,
  type StreamPollReply,
  type SyncReply,
  type SyncRequest,
  streamPollReplySchema,
  syncReplySchema,
  WATCH_MAX_WAIT_MS,
  type WatchReply,
  watchReplySchema,
} from "@berth/protocol";
import { z } from "zod";
import { type ChannelReply, ChannelUnavailable, NodeChannel } from "./channel";

/**
 * The control plane as the agent sees it: the calls of `@berth/protocol` over plain HTTP that the
 * agent dials out (NAT and proxies are fine), every reply validated (the agent trusts nothing it
 * did not check, not even its own control plane).
 */
export interface ControlPlane {
  readonly server: string;
  join(req: JoinRequest): Promise<JoinReply>;
  heartbeat(credential: string, body?: HeartbeatRequest): Promise<HeartbeatReply>;
  sync(credential: string, body: SyncRequest): Promise<SyncReply>;
  /** A batch of usage samples of the node's pods and of the node. */
  metrics(credential: string, body: MetricsBatch): Promise<MetricsReply>;
  /** The long poll: answers when the assignments differ from `version`, or after `waitMs`. */
  watch(
    credential: string,
    opts: { version: string | undefined; waitMs: number },
    signal?: AbortSignal,
  ): Promise<WatchReply>;
  /** The stream long poll: answers with the log and exec streams asked of the node, or after `waitMs`. */
  streams(credential: string, opts: { waitMs: number }, signal?: AbortSignal): Promise<StreamPollReply>;
  /**
   * The cluster's services and their ready endpoints, for the node's service proxy and DNS; with
   * `watch`, a long poll that answers when the view differs from `version`, or after `waitMs`.
   */
  network(
    credential: string,
    watch?: { version: string; waitMs: number },
    signal?: AbortSignal,
    /** The node's pod range its host cannot have: the answer names another. */
    podCidrTaken?: string,
  ): Promise<NetworkView>;
  /** A certificate for the node's tunnel key (the key stays here; only its public half is sent). */
  certificate(credential: string, body: NodeCertificateRequest): Promise<NodeCertificateReply>;
  /** The WebSocket URL of one stream's connection (`ws://…/v1/nodes/streams/<id>`). */
  streamUrl(streamId: string): string;
  /** Whether the control plane holds the node's lease through the node channel now (then heartbeats are rare). */
  channelHoldsLease(): boolean;
  /** Closes what it holds open (the node channel, if any). */
  close(): void;
}

/** A reply of the control plane that is not a success; `status` 0 means it could not be reached. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

/**
 * Whether asking again later may work: unreachable, overloaded, busy or conflicting for now. An
 * agent of a version the control plane does not admit stays refused until it is reinstalled.
 */
export function isRetryable(error: unknown): boolean {
  return (
    error instanceof ApiError &&
    (error.status === 0 ||
      error.status >= 500 ||
      (error.status === 409 && error.code !== "AGENT_VERSION_UNSUPPORTED") ||
      error.status === 429)
  );
}

/** fetch's "fetch failed" with what failed beneath it: `fetch failed (ECONNREFUSED)`. */
function networkFailure(error: unknown): string {
  const e = error as Error & { cause?: { code?: string; message?: string } };
  const below = e.cause?.code ?? e.cause?.message;
  return below ? `${e.message} (${below})` : e.message;
}

const errorEnvelope = z.object({ error: z.object({ code: z.string(), message: z.string() }) });

export interface ControlPlaneOptions {
  /** How long a call may take (a long poll: this beyond its wait). */
  timeoutMs?: number;
  /**
   * Make the frequent calls over the node channel (one WebSocket, channel.ts) while it is open,
   * over HTTP otherwise.
   */
  channel?: boolean;
  onChannelState?: (open: boolean, why?: string) => void;
}

export function createControlPlane(server: string, options: ControlPlaneOptions = {}): ControlPlane {
  const timeoutMs = options.timeoutMs ?? 10_000;
  let credential = "";
  const channel = options.channel
    ? new NodeChannel({
        server,
        credential: () => credential,
        ...(options.onChannelState ? { onState: options.onChannelState } : {}),
      })
    : null;

  /** The call over the channel when it is open; null when it is not (then over HTTP). */
  async function overChannel<T>(
    via: { op: NodeChannelOperation; input: unknown },
    path: string,
    opts: { token?: string; timeoutMs?: number; signal?: AbortSignal },
    schema: z.ZodType<T>,
  ): Promise<T | null> {
    if (!channel || !opts.token) return null;
    credential = opts.token;
    let reply: ChannelReply;
    try {
      reply = await channel.call(via.op, opts.token, via.input, {
        timeoutMs: opts.timeoutMs ?? timeoutMs,
        signal: opts.signal,
      });
    } catch (error) {
      if (error instanceof ChannelUnavailable) return null;
      throw new ApiError(
        0,
        "UNREACHABLE",
        `cannot reach ${server} over the node channel: ${(error as Error).message}`,
      );
    }
    if (reply.error || reply.status >= 300)
      throw new ApiError(reply.status, reply.error?.code ?? "HTTP_ERROR", reply.error?.message ?? "");
    try {
      return schema.parse(reply.body);
    } catch (error) {
      throw new ApiError(
        reply.status,
        "BAD_REPLY",
        `unexpected reply to ${path}: ${(error as Error).message}`,
      );
    }
  }

  async function call<T>(
    method: "GET" | "POST",
    path: string,
    opts: {
      body?: unknown;
      token?: string;
      timeoutMs?: number;
      signal?: AbortSignal;
      /** The call's operation and input on the node channel, when it may go there. */
      via?: { op: NodeChannelOperation; input: unknown };
    },
    schema: z.ZodType<T>,
  ): Promise<T> {
    if (opts.via) {
      const answered = await overChannel(opts.via, path, opts, schema);
      if (answered !== null) return answered;
    }
    const timeout = AbortSignal.timeout(opts.timeoutMs ?? timeoutMs);
    let res: Response;
    let text: string;
    try {
      res = await fetch(new URL(path, server), {
        method,
        headers: {
          ...(opts.body !== undefined ? { "content-type": "application/json" } : {}),
          ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
        },
        ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
        signal: opts.signal ? AbortSignal.any([timeout, opts.signal]) : timeout,
      });
      text = await res.text();
    } catch (error) {
      throw new ApiError(0, "UNREACHABLE", `cannot reach ${server}: ${networkFailure(error)}`);
    }
    if (!res.ok) {
      let parsed: ReturnType<typeof errorEnvelope.safeParse> | null = null;
      try {
        parsed = errorEnvelope.safeParse(JSON.parse(text || "{}"));
      } catch {}
      const e = parsed?.success ? parsed.data.error : { code: "HTTP_ERROR", message: text.slice(0, 200) };
      throw new ApiError(res.status, e.code, e.message);
    }
    try {
      return schema.parse(JSON.parse(text));
    } catch (error) {
      throw new ApiError(res.status, "BAD_REPLY", `unexpected reply to ${path}: ${(error as Error).message}`);
    }
  }

  /** A node's POST: its body is its input on the channel too. */
  const post = <T>(
    path: string,
    op: NodeChannelOperation,
    credential: string,
    body: unknown,
    schema: z.ZodType<T>,
  ): Promise<T> => call("POST", path, { body, token: credential, via: { op, input: body } }, schema);

  return {
    server,
    join: (req) => call("POST", "/v1/nodes/join", { body: req }, joinReplySchema),
    heartbeat: (credential, body = {}) =>
      post("/v1/nodes/heartbeat", "nodes.heartbeat", credential, body, heartbeatReplySchema),
    sync: (credential, body) => post("/v1/nodes/sync", "nodes.sync", credential, body, syncReplySchema),
    metrics: (credential, body) =>
      post("/v1/nodes/metrics", "nodes.metrics", credential, body, metricsReplySchema),
    watch: (credential, { version, waitMs }, signal) => {
      const wait = Math.min(Math.max(0, waitMs), WATCH_MAX_WAIT_MS);
      const query = new URLSearchParams({ waitMs: String(wait), ...(version ? { version } : {}) });
      return call(
        "GET",
        `/v1/nodes/watch?${query}`,
        {
          token: credential,
          timeoutMs: wait + timeoutMs,
          ...(signal ? { signal } : {}),
          via: { op: "nodes.watch", input: Object.fromEntries(query) },
        },
        watchReplySchema,
      );
    },
    streams: (credential, { waitMs }, signal) => {
      const wait = Math.min(Math.max(0, waitMs), STREAM_POLL_MAX_WAIT_MS);
      return call(
        "GET",
        `/v1/nodes/streams?waitMs=${wait}`,
        {
          token: credential,
          timeoutMs: wait + timeoutMs,
          ...(signal ? { signal } : {}),
          via: { op: "nodes.streams", input: { waitMs: String(wait) } },
        },
        streamPollReplySchema,
      );
    },
    network: (credential, watch, signal, podCidrTaken) => {
      if (!watch) {
        const query = podCidrTaken ? `?${new URLSearchParams({ podCidrTaken })}` : "";
        return call("GET", `/v1/nodes/network${query}`, { token: credential }, networkViewSchema);
      }
      const wait = Math.min(Math.max(0, watch.waitMs), WATCH_MAX_WAIT_MS);
      const query = new URLSearchParams({ waitMs: String(wait), version: watch.version });
      return call(
        "GET",
        `/v1/nodes/network?${query}`,
        {
          token: credential,
          timeoutMs: wait + timeoutMs,
          ...(signal ? { signal } : {}),
          via: { op: "nodes.network", input: Object.fromEntries(query) },
        },
        networkViewSchema,
      );
    },
    certificate: (credential, body) =>
      call("POST", "/v1/nodes/certificate", { body, token: credential }, nodeCertificateReplySchema),
    streamUrl: (streamId) => {
      const url = new URL(`/v1/nodes/streams/${encodeURIComponent(streamId)}`, server);
      url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
      return url.toString();
    },
    channelHoldsLease: () => channel?.holdsLease() ?? false,
    close: () => channel?.close(),
  };
}
