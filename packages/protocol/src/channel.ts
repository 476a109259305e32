import { z } from "zod";

/**
 * The node channel (`GET /v1/nodes/channel`, a WebSocket the agent dials out): the agent's frequent
 * calls (heartbeats, status reports, metrics, and its long polls) as messages on one connection
 * instead of one HTTP request each. A call names its operation (the REST operation's id), carries
 * the node's credential as its request would, and its input as the REST operation takes it; the
 * reply names the call's id, with the status the REST request would have had, and its body or error.
 * Replies come in any order. Text frames of JSON, one call or reply each.
 */
export const NODE_CHANNEL_PATH = "/v1/nodes/channel";

/**
 * The largest message a channel takes (the server closes it with 1009 beyond); an agent sends a
 * larger call over HTTP. A call's input is held to the API's request body limit as over REST (413).
 */
export const NODE_CHANNEL_MAX_MESSAGE_BYTES = 1024 * 1024;

/**
 * Sent with the channel's handshake (101) by a control plane that holds the node's lease through
 * the channel: the interval, in milliseconds, at which it renews the lease while the channel is
 * open and the agent answers its pings (the WebSocket's own, which every agent answers). Such an
 * agent heartbeats only every CHANNEL_LEASE_HEARTBEAT_MS (a heartbeat still carries its version
 * and brings the agent announcement, the registry and `leave`), and at once again at its usual
 * interval when the channel closes or its pings stop. An agent that ignores the header heartbeats
 * as before; a control plane that does not send it renews nothing.
 */
export const NODE_CHANNEL_LEASE_HEADER = "x-berth-channel-lease";

/** An agent whose channel holds its lease heartbeats this often (see NODE_CHANNEL_LEASE_HEADER). */
export const CHANNEL_LEASE_HEARTBEAT_MS = 30_000;

/** A channel whose pings stopped for this many lease intervals holds no lease: the agent drops it. */
export const CHANNEL_LEASE_SILENT_INTERVALS = 3;

/** Calls one channel may have unanswered at once (its long polls included); more are refused 429. */
export const NODE_CHANNEL_MAX_IN_FLIGHT = 32;

/** The operations a channel carries. */
export const NODE_CHANNEL_OPERATIONS = [
  "nodes.heartbeat",
  "nodes.sync",
  "nodes.metrics",
  "nodes.watch",
  "nodes.network",
  "nodes.streams",
] as const;
export type NodeChannelOperation = (typeof NODE_CHANNEL_OPERATIONS)[number];

export const nodeChannelRequestSchema = z
  .object({
    id: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
    op: z.string().max(64),
    credential: z.string().min(1).max(8192),
    input: z.unknown().optional(),
  })
  .strict();
export type NodeChannelRequest = z.infer<typeof nodeChannelRequestSchema>;

export const nodeChannelReplySchema = z.object({
  id: z.number().int().nonnegative(),
  status: z.number().int(),
  body: z.unknown().optional(),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
});
export type NodeChannelReply = z.infer<typeof nodeChannelReplySchema>;

/** A channel message as `schema` reads it: null when it is not JSON, or not of that shape. */
export function readChannelMessage<T>(schema: z.ZodType<T>, text: string): T | null {
  try {
    const parsed = schema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
