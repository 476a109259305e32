import { randomBytes } from "node:crypto";
import { BerthError, NotFoundError, ValidationError } from "@berth/core";
import type { ExecOptions, LogOptions, StreamEnd, StreamMessage, StreamRequest } from "@berth/protocol";
import type { Deps } from "../deps";
import { openRelay } from "./relay";

/** The container a stream reads from, located by the control plane. */
export interface StreamTarget {
  tenantId: string;
  clusterId: string;
  nodeId: string;
  nodeName: string;
  podId: string;
  podName: string;
  namespace: string;
  container: string;
}

export type StreamAsk = { kind: "logs"; logs: LogOptions } | { kind: "exec"; exec: ExecOptions };

/** The client's end of a stream, once the node has started it. */
export interface NodeStream {
  readonly streamId: string;
  /** The node's data and, last, its end (always: a lost node or Redis becomes an end too). */
  next(): Promise<StreamMessage>;
  /** To the node: stdin, a resize, a close; waits while the node is behind. */
  send(message: StreamMessage): Promise<void>;
  /** Bytes passed on to the client (lets the node send more). */
  delivered(bytes: number): void;
  /** Ends the stream (the node stops) and frees the tenant's slot; idempotent. */
  close(end?: StreamEnd): Promise<void>;
}

const newStreamId = () => `str_${randomBytes(24).toString("base64url")}`;

/** The error a client gets for a stream the node refused to start. */
function refusal(end: StreamEnd, target: StreamTarget): BerthError {
  const message = end.message ?? "the node could not start the stream";
  switch (end.reason) {
    case "NotFound":
      return new BerthError("NOT_FOUND", message);
    case "BadRequest":
    case "ContainerNotRunning":
      return new ValidationError(message);
    case "Busy":
      return new BerthError("RATE_LIMITED", message, { retryable: true, details: { retryAfterSeconds: 2 } });
    default:
      return new BerthError("NODE_UNAVAILABLE", `node ${JSON.stringify(target.nodeName)}: ${message}`, {
        retryable: true,
        details: { retryAfterSeconds: 5 },
      });
  }
}

/**
 * Asks the target's node for a stream and waits until it has started it: registers the request
 * (Redis), wakes the node's stream poll (wherever it is held), and waits for the agent's
 * connection to say `started` — or refuse, or not answer within the start timeout (504), or the
 * client to go away. Holds one of the tenant's stream slots until closed.
 */
export async function openNodeStream(
  deps: Deps,
  target: StreamTarget,
  ask: StreamAsk,
  signal: AbortSignal | undefined,
): Promise<NodeStream> {
  const { registry, bus, limits } = deps.streams;
  const streamId = newStreamId();
  const leaseMs = 30_000;
  if (!(await registry.acquire(target.tenantId, streamId, limits.perTenant, leaseMs)))
    throw new BerthError(
      "RATE_LIMITED",
      `this tenant has ${limits.perTenant} log and exec streams open already; close one, or retry`,
      { retryable: true, details: { retryAfterSeconds: 2 } },
    );
  const queue: StreamMessage[] = [];
  let wake: (() => void) | null = null;
  let sawEnd = false;
  const push = (m: StreamMessage) => {
    if (sawEnd) return;
    if (m.type === "end") sawEnd = true;
    queue.push(m);
    const w = wake;
    wake = null;
    w?.();
  };
  const renew = setInterval(() => {
    registry.renew(target.tenantId, streamId, leaseMs).catch(() => {});
  }, leaseMs / 3);
  renew.unref?.();
  let closed = false;
  const relay = await openRelay({ bus, streamId, side: "client", peerPresent: false, onMessage: push }).catch(
    (error: unknown) => {
      clearInterval(renew);
      void registry.release(target.tenantId, streamId).catch(() => {});
      throw error;
    },
  );
  void relay.done.then((end) => {
    push({ type: "end", end });
    clearInterval(renew);
    void registry.release(target.tenantId, streamId).catch(() => {});
  });
  const close = async (
    end: StreamEnd = { ok: false, reason: "Closed", message: "the client closed the stream" },
  ) => {
    if (closed) return;
    closed = true;
    await relay.end(end);
  };
  const next = async (): Promise<StreamMessage> => {
    for (;;) {
      const m = queue.shift();
      if (m) return m;
      await new Promise<void>((resolve) => (wake = resolve));
    }
  };

  const request = {
    ...ask,
    streamId,
    podId: target.podId,
    container: target.container,
    expiresAt: new Date(Date.now() + limits.startTimeoutMs).toISOString(),
  } as StreamRequest;
  const pending = { tenantId: target.tenantId, clusterId: target.clusterId, nodeId: target.nodeId, request };
  try {
    await registry.register(pending, limits.startTimeoutMs + 5_000);
    const first = await firstMessage(next, limits.startTimeoutMs, signal);
    if (first === "timeout" || first === "aborted") {
      await registry.withdraw(pending).catch(() => false);
      if (first === "aborted") throw new ValidationError("the client went away before the stream started");
      throw new BerthError(
        "NODE_TIMEOUT",
        `node ${JSON.stringify(target.nodeName)} did not start the stream within ${limits.startTimeoutMs / 1000} s; it may be unreachable or overloaded (retry, or look at the node's status)`,
        { retryable: true, details: { retryAfterSeconds: 5 } },
      );
    }
    if (first.type === "end") throw refusal(first.end, target);
    if (first.type !== "started") throw new NotFoundError("stream", streamId);
  } catch (error) {
    await close({ ok: false, reason: "Abandoned", message: "the stream did not start" });
    throw error;
  }
  return { streamId, next, send: (m) => relay.send(m), delivered: (n) => relay.delivered(n), close };
}

async function firstMessage(
  next: () => Promise<StreamMessage>,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<StreamMessage | "timeout" | "aborted"> {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  try {
    return await Promise.race([
      next(),
      new Promise<"timeout">((resolve) => {
        timer = setTimeout(() => resolve("timeout"), timeoutMs);
      }),
      new Promise<"aborted">((resolve) => {
        onAbort = () => resolve("aborted");
        if (signal?.aborted) resolve("aborted");
        signal?.addEventListener("abort", onAbort, { once: true });
      }),
    ]);
  } finally {
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener("abort", onAbort);
  }
}
