import { NotFoundError, ValidationError } from "@berth/core";
import {
  decodeStreamMessage,
  encodeStreamMessage,
  STREAM_POLL_MAX_REQUESTS,
  STREAM_POLL_MAX_WAIT_MS,
  type StreamMessage,
  type StreamPollReply,
  streamIdSchema,
  streamPollReplySchema,
  type streamPollRequestSchema,
} from "@berth/protocol";
import type { WebSocket } from "ws";
import { z } from "zod";
import type { Deps, NodeCaller } from "../deps";
import type { RequestMeta, SocketReply } from "../operation";
import { openRelay } from "./relay";

export const streamPollReply = z.strictObject(streamPollReplySchema.shape);

/**
 * The node agent's stream long poll: answers as soon as streams are asked of its node (the
 * request's replica publishes a wake-up; whichever replica holds the poll hears it), else after
 * `waitMs` with none. Wake-ups are lost only while the replica's subscriber is away, and its
 * return wakes every poll (bus.ts), which then looks again: no periodic look is needed (it was
 * one Redis call every 5 s per node).
 */
export async function pollStreams(
  deps: Deps,
  caller: NodeCaller,
  input: z.infer<typeof streamPollRequestSchema>,
  request: RequestMeta,
): Promise<StreamPollReply> {
  const { registry, bus } = deps.streams;
  const deadline = Date.now() + Math.min(input.waitMs ?? STREAM_POLL_MAX_WAIT_MS, STREAM_POLL_MAX_WAIT_MS);
  const waiter = bus.waitNode(caller.nodeId);
  try {
    for (;;) {
      const requests = await registry.claim(caller.nodeId, STREAM_POLL_MAX_REQUESTS);
      const left = deadline - Date.now();
      if (requests.length > 0 || left <= 0 || request.signal?.aborted) return { requests };
      await waiter.next(left, request.signal);
    }
  } finally {
    waiter.close();
  }
}

export const streamAttachInput = z.object({ streamId: streamIdSchema }).strict();

/**
 * The agent's connection for one stream (a WebSocket it opens): takes the request (once, and only
 * the node it was asked of), then relays between the socket and the client's end over Redis. The
 * socket is paused while the client's end is behind, so a slow client slows the agent's reading.
 */
export async function attachStream(
  deps: Deps,
  caller: NodeCaller,
  input: z.infer<typeof streamAttachInput>,
  request: RequestMeta,
): Promise<SocketReply> {
  if (!request.upgrade) throw new ValidationError("a stream connection needs a WebSocket upgrade");
  const pending = await deps.streams.registry.take(input.streamId, caller.nodeId);
  if (
    !pending ||
    pending.nodeId !== caller.nodeId ||
    pending.tenantId !== caller.tenantId ||
    Date.parse(pending.request.expiresAt) < Date.now()
  )
    throw new NotFoundError("stream", input.streamId);
  let socket: WebSocket | null = null;
  const early: StreamMessage[] = [];
  const toAgent = (m: StreamMessage) => {
    if (!socket) return void early.push(m);
    if (socket.readyState !== socket.OPEN) return;
    const bytes = m.type === "data" ? m.payload.byteLength : 0;
    socket.send(encodeStreamMessage(m), () => relay.delivered(bytes));
    if (m.type === "end") socket.close(1000);
  };
  const relay = await openRelay({
    bus: deps.streams.bus,
    streamId: input.streamId,
    side: "node",
    peerPresent: true,
    onMessage: toAgent,
  });
  void relay.done.then(() => {
    if (socket && socket.readyState === socket.OPEN) socket.close(1000);
  });
  return {
    attach(ws) {
      socket = ws;
      for (const m of early.splice(0)) toAgent(m);
      if (relay.ended) return void ws.close(1000);
      // One message relayed at a time, in order; the socket is paused while one waits.
      let chain: Promise<unknown> = Promise.resolve();
      ws.on("message", (data: Buffer, isBinary: boolean) => {
        const m = isBinary ? decodeStreamMessage(data) : null;
        if (!m || m.type === "ack" || m.type === "ping") {
          void relay.end({
            ok: false,
            reason: "BadMessage",
            message: "the node sent a malformed stream message",
          });
          return void ws.close(1003);
        }
        ws.pause();
        chain = chain
          .then(() => (m.type === "end" ? relay.end(m.end).finally(() => ws.close(1000)) : relay.send(m)))
          .catch(() =>
            relay.end({ ok: false, reason: "Interrupted", message: "the stream could not be relayed" }),
          )
          .finally(() => ws.resume());
      });
      // What arrived before the close is relayed first: the agent's end is usually the last message.
      ws.on("close", () => {
        void chain.finally(() =>
          relay.end({ ok: false, reason: "Gone", message: "the node's stream connection closed" }),
        );
      });
      ws.on("error", () => ws.terminate());
    },
    abandon: () => relay.end({ ok: false, reason: "Gone", message: "the node's stream connection failed" }),
  };
}
