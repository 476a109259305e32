/**
 * Logs and exec streamed from a node through the control plane. The agent only dials out, so a
 * stream is a reverse channel: the control plane registers a request, the agent learns of it over
 * its stream long poll (`GET /v1/nodes/streams`) and opens a WebSocket to the control plane
 * (`GET /v1/nodes/streams/{streamId}`) that carries the bytes both ways.
 *
 * Every message on that WebSocket (and between control-plane replicas) is binary: one type byte,
 * then its payload. Data messages carry a channel byte in the manner of Kubernetes'
 * `channel.k8s.io` protocols: 0 stdin, 1 stdout, 2 stderr, 3 error (a final status), 4 resize
 * (`{"Width","Height"}`), 255 close (the payload names the channel closed: stdin's EOF).
 */
import { z } from "zod";
import { dnsLabel, text } from "./strings";

/** The longest the control plane holds a stream poll when no stream is asked for. */
export const STREAM_POLL_MAX_WAIT_MS = 25_000;

/** Requests handed out in one poll reply. */
export const STREAM_POLL_MAX_REQUESTS = 64;

/** Lines a log request may ask for from the end of the log. */
export const LOG_MAX_TAIL_LINES = 1_000_000;

/** An exec command: at most this many arguments, each at most 4 KiB of text. */
export const EXEC_MAX_ARGS = 128;

export const STREAM_CHANNEL = {
  stdin: 0,
  stdout: 1,
  stderr: 2,
  error: 3,
  resize: 4,
  close: 255,
} as const;
export type StreamChannel = (typeof STREAM_CHANNEL)[keyof typeof STREAM_CHANNEL];

/** The type byte of every stream message. */
export const STREAM_MESSAGE = {
  /** `[0][channel][bytes]`: output, stdin, a resize, a close. */
  data: 0,
  /** `[1]`: the agent has the container's stream open; bytes follow. */
  started: 1,
  /** `[2][JSON StreamEnd]`: the stream is over (either side may say so, once). */
  end: 2,
  /** `[3][uint32 big-endian]`: bytes of data delivered (between control-plane replicas only). */
  ack: 3,
  /** `[4]`: still here (between control-plane replicas only). */
  ping: 4,
} as const;

export const streamIdSchema = z
  .string()
  .regex(/^str_[A-Za-z0-9_-]{22,64}$/, "must be a stream id")
  .max(68);

/** Kubernetes' log options as the agent applies them (PodLogOptions). */
export const logOptionsSchema = z
  .object({
    follow: z.boolean(),
    /** The last terminated instance of the container, not the current one. */
    previous: z.boolean(),
    timestamps: z.boolean(),
    tailLines: z.number().int().min(0).max(LOG_MAX_TAIL_LINES).optional(),
    /** Lines written in the last this many seconds, by the node's clock. */
    sinceSeconds: z
      .number()
      .int()
      .min(1)
      .max(10 * 366 * 86_400)
      .optional(),
    /** Lines written at or after this instant (RFC 3339). */
    sinceTime: z.iso.datetime({ offset: true }).optional(),
    /** Bytes after which the stream ends (possibly mid-line). */
    limitBytes: z
      .number()
      .int()
      .min(1)
      .max(2 ** 40),
  })
  .strict();
export type LogOptions = z.infer<typeof logOptionsSchema>;

export const terminalSizeSchema = z
  .object({ Width: z.number().int().min(1).max(10_000), Height: z.number().int().min(1).max(10_000) })
  .strict();
export type TerminalSize = z.infer<typeof terminalSizeSchema>;

export const execCommandSchema = z.array(text(4096, 1)).min(1).max(EXEC_MAX_ARGS);

export const execOptionsSchema = z
  .object({
    command: execCommandSchema,
    stdin: z.boolean(),
    tty: z.boolean(),
    /** Bytes of stdout and of stderr the agent sends; the rest is read and dropped (`truncated`). */
    outputLimitBytes: z
      .number()
      .int()
      .min(1)
      .max(2 ** 40)
      .optional(),
    /** The terminal's size at the start (tty only). */
    size: terminalSizeSchema.optional(),
  })
  .strict();
export type ExecOptions = z.infer<typeof execOptionsSchema>;

const requestBase = {
  streamId: streamIdSchema,
  podId: z.string().min(3).max(64),
  /** The container's name in the pod (`spec.containers[].name` or an init container's). */
  container: dnsLabel,
  /** After this the control plane no longer waits for the agent: connecting later is refused. */
  expiresAt: z.iso.datetime({ offset: true }),
};

export const streamRequestSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("logs"), ...requestBase, logs: logOptionsSchema }).strict(),
  z.object({ kind: z.literal("exec"), ...requestBase, exec: execOptionsSchema }).strict(),
]);
export type StreamRequest = z.infer<typeof streamRequestSchema>;

/** `GET /v1/nodes/streams?waitMs=`: answers as soon as streams are asked of the node. */
export const streamPollRequestSchema = z
  .object({ waitMs: z.coerce.number().int().min(0).max(60_000).optional() })
  .strict();
export const streamPollReplySchema = z.object({
  requests: z.array(streamRequestSchema).max(STREAM_POLL_MAX_REQUESTS),
});
export type StreamPollReply = z.infer<typeof streamPollReplySchema>;

/** Why a stream ended, said once by whichever side ends it. */
export const streamEndSchema = z
  .object({
    ok: z.boolean(),
    /** An exec's exit code (also when `ok` is false because the command failed). */
    exitCode: z.number().int().min(-1).max(255).optional(),
    /** A word for machines: `NotFound`, `BadRequest`, `ContainerNotRunning`, `Timeout`, `Gone`, … */
    reason: text(64).optional(),
    message: text(1000).optional(),
    /** Output was dropped past the limit. */
    truncated: z.boolean().optional(),
  })
  .strict();
export type StreamEnd = z.infer<typeof streamEndSchema>;

export type StreamMessage =
  | { type: "data"; channel: number; payload: Uint8Array }
  | { type: "started" }
  | { type: "end"; end: StreamEnd }
  | { type: "ack"; bytes: number }
  | { type: "ping" };

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeStreamMessage(m: StreamMessage): Uint8Array {
  switch (m.type) {
    case "data": {
      const out = new Uint8Array(2 + m.payload.byteLength);
      out[0] = STREAM_MESSAGE.data;
      out[1] = m.channel;
      out.set(m.payload, 2);
      return out;
    }
    case "started":
      return Uint8Array.of(STREAM_MESSAGE.started);
    case "end": {
      const body = encoder.encode(JSON.stringify(m.end));
      const out = new Uint8Array(1 + body.byteLength);
      out[0] = STREAM_MESSAGE.end;
      out.set(body, 1);
      return out;
    }
    case "ack": {
      const out = new Uint8Array(5);
      out[0] = STREAM_MESSAGE.ack;
      new DataView(out.buffer).setUint32(1, Math.min(m.bytes, 0xffff_ffff));
      return out;
    }
    case "ping":
      return Uint8Array.of(STREAM_MESSAGE.ping);
  }
}

/** The message in `bytes`, or null when it is not one (the receiver ends the stream). */
export function decodeStreamMessage(bytes: Uint8Array): StreamMessage | null {
  if (bytes.byteLength === 0) return null;
  switch (bytes[0]) {
    case STREAM_MESSAGE.data: {
      const channel = bytes[1];
      if (channel === undefined) return null;
      return { type: "data", channel, payload: bytes.subarray(2) };
    }
    case STREAM_MESSAGE.started:
      return bytes.byteLength === 1 ? { type: "started" } : null;
    case STREAM_MESSAGE.end: {
      let parsed: unknown;
      try {
        parsed = JSON.parse(decoder.decode(bytes.subarray(1)));
      } catch {
        return null;
      }
      const end = streamEndSchema.safeParse(parsed);
      return end.success ? { type: "end", end: end.data } : null;
    }
    case STREAM_MESSAGE.ack:
      return bytes.byteLength === 5
        ? { type: "ack", bytes: new DataView(bytes.buffer, bytes.byteOffset, 5).getUint32(1) }
        : null;
    case STREAM_MESSAGE.ping:
      return bytes.byteLength === 1 ? { type: "ping" } : null;
    default:
      return null;
  }
}

/** A data message's payload as a terminal size, or null. */
export function decodeTerminalSize(payload: Uint8Array): TerminalSize | null {
  try {
    const size = terminalSizeSchema.safeParse(JSON.parse(decoder.decode(payload)));
    return size.success ? size.data : null;
  } catch {
    return null;
  }
}
