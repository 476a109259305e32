import {
  decodeStreamMessage,
  encodeStreamMessage,
  STREAM_CHANNEL,
  type StreamEnd,
  type StreamMessage,
} from "@berth/protocol";
import { WebSocket } from "ws";

/** Bytes handed to the socket and not yet written out before `send` waits. */
const HIGH_WATER_BYTES = 256 * 1024;

/**
 * The agent's end of one stream: a WebSocket it dials to the control plane, carrying the stream's
 * messages (see @berth/protocol streams.ts). `send` waits while the socket has a backlog, so a
 * slow client (the control plane pauses the socket) slows the agent's reading of the engine.
 */
export interface StreamConnection {
  send(message: StreamMessage): Promise<void>;
  /** Data as it arrives from the client: channel, bytes. */
  onData(listener: (channel: number, payload: Buffer) => void): void;
  /** Says how the stream ended (once) and closes. */
  end(end: StreamEnd): Promise<void>;
  /** Settles when the connection is gone: the client ended the stream, or the socket closed. */
  readonly closed: Promise<StreamEnd>;
  readonly isClosed: boolean;
}

export function connectStream(
  url: string,
  credential: string,
  timeoutMs = 10_000,
): Promise<StreamConnection> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, {
      headers: { authorization: `Bearer ${credential}` },
      handshakeTimeout: timeoutMs,
      maxPayload: 1024 * 1024,
      perMessageDeflate: false,
    });
    let outstanding = 0;
    const drained: (() => void)[] = [];
    let closed = false;
    let listener: (channel: number, payload: Buffer) => void = () => {};
    let settle: (end: StreamEnd) => void = () => {};
    const closedPromise = new Promise<StreamEnd>((r) => (settle = r));
    const finish = (end: StreamEnd) => {
      if (closed) return;
      closed = true;
      for (const d of drained.splice(0)) d();
      settle(end);
    };
    ws.on("unexpected-response", (_req, res) => {
      reject(new Error(`the control plane refused the stream connection (HTTP ${res.statusCode})`));
      res.resume();
      ws.terminate();
    });
    ws.on("error", (error) => {
      reject(error);
      finish({ ok: false, reason: "Gone", message: error.message });
    });
    ws.on("close", () =>
      finish({ ok: false, reason: "Gone", message: "the control plane closed the stream" }),
    );
    ws.on("message", (data: Buffer, isBinary: boolean) => {
      const m = isBinary ? decodeStreamMessage(data) : null;
      if (!m) return ws.close(1003);
      if (m.type === "end") {
        finish(m.end);
        ws.close(1000);
      } else if (m.type === "data") listener(m.channel, Buffer.from(m.payload));
    });
    ws.on("open", () =>
      resolve({
        get closed() {
          return closedPromise;
        },
        get isClosed() {
          return closed;
        },
        onData(l) {
          listener = l;
        },
        async send(m) {
          if (closed || ws.readyState !== ws.OPEN) return;
          const bytes = encodeStreamMessage(m);
          outstanding += bytes.byteLength;
          ws.send(bytes, () => {
            outstanding -= bytes.byteLength;
            if (outstanding < HIGH_WATER_BYTES / 2) for (const d of drained.splice(0)) d();
          });
          while (outstanding >= HIGH_WATER_BYTES && !closed) await new Promise<void>((r) => drained.push(r));
        },
        async end(end) {
          if (closed) return;
          if (ws.readyState === ws.OPEN) ws.send(encodeStreamMessage({ type: "end", end }));
          finish(end);
          ws.close(1000);
        },
      }),
    );
  });
}

/**
 * Gathers small writes into fewer, larger data messages (a log is read a line per engine frame):
 * flushed at `maxBytes`, when the channel changes, or after `delayMs` without more.
 */
export class Coalescer {
  private parts: Buffer[] = [];
  private size = 0;
  private channel: number = STREAM_CHANNEL.stdout;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly conn: StreamConnection,
    private readonly maxBytes = 32 * 1024,
    private readonly delayMs = 10,
  ) {}

  async write(channel: number, data: Buffer): Promise<void> {
    if (this.size > 0 && channel !== this.channel) await this.flush();
    this.channel = channel;
    this.parts.push(data);
    this.size += data.length;
    if (this.size >= this.maxBytes) await this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), this.delayMs);
  }

  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.size === 0) return;
    const payload = Buffer.concat(this.parts, this.size);
    this.parts = [];
    this.size = 0;
    await this.conn.send({ type: "data", channel: this.channel, payload });
  }
}
