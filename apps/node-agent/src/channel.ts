import {
  CHANNEL_LEASE_SILENT_INTERVALS,
  NODE_CHANNEL_LEASE_HEADER,
  NODE_CHANNEL_MAX_IN_FLIGHT,
  NODE_CHANNEL_MAX_MESSAGE_BYTES,
  NODE_CHANNEL_PATH,
  type NodeChannelOperation,
  type NodeChannelReply,
  nodeChannelReplySchema,
  readChannelMessage,
} from "@berth/protocol";
import WebSocket from "ws";

/** What a call over the channel comes back with: the status its REST request would have had, and its body or error. */
export type ChannelReply = Pick<NodeChannelReply, "status" | "body" | "error">;

/** The channel could not carry a call (not open, closed under it): the caller goes over HTTP instead. */
export class ChannelUnavailable extends Error {}

interface Pending {
  resolve: (reply: ChannelReply) => void;
  reject: (error: Error) => void;
}

export interface NodeChannelOptions {
  /** The control plane's base URL (http or https: the channel is ws or wss). */
  server: string;
  /** The credential the connection is opened with (each call carries its own too). */
  credential: () => string;
  /** After a connection failed or closed, the next try waits this long, doubling to `maxRetryMs`. */
  retryMs?: number;
  maxRetryMs?: number;
  /** A connection that has not opened by then is given up. */
  connectTimeoutMs?: number;
  /** Told when the channel opens or closes (for logs). */
  onState?: (open: boolean, why?: string) => void;
}

/**
 * The agent's end of the node channel (`@berth/protocol` channel.ts): one WebSocket it dials out,
 * over which its frequent calls go as messages, each with its own id; replies are matched to them
 * in any order. It connects on first use and again after a failure, with back-off; while it is not
 * open, calls are refused at once with `ChannelUnavailable` and the caller uses HTTP (a control plane
 * or proxy without the channel costs nothing but the tries). A close fails the calls in flight the
 * same way: those are safe to make again, as after a lost HTTP request.
 */
export class NodeChannel {
  private ws: WebSocket | null = null;
  private open = false;
  private connecting = false;
  private stopped = false;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private retryMs: number;
  private notBefore = 0;
  private timer: NodeJS.Timeout | null = null;
  /** The control plane's lease interval, when it holds the node's lease through this channel. */
  private leaseMs: number | null = null;
  /** When the channel opened, or the control plane last pinged it. */
  private heardAt = 0;

  constructor(private readonly opts: NodeChannelOptions) {
    this.retryMs = opts.retryMs ?? 1_000;
  }

  get isOpen(): boolean {
    return this.open;
  }

  /**
   * Whether the control plane holds the node's lease through this channel now: it said so at the
   * handshake, and its pings keep coming. A channel whose pings stopped is dropped (it is dead or
   * half open), so that calls and heartbeats go over HTTP until it is open again.
   */
  holdsLease(): boolean {
    if (!this.open || this.leaseMs === null) return false;
    if (Date.now() - this.heardAt <= CHANNEL_LEASE_SILENT_INTERVALS * this.leaseMs) return true;
    this.ws?.terminate();
    return false;
  }

  /** Makes one call; rejects with `ChannelUnavailable` when the channel cannot carry it now. */
  call(
    op: NodeChannelOperation,
    credential: string,
    input: unknown,
    o: { timeoutMs: number; signal?: AbortSignal | undefined },
  ): Promise<ChannelReply> {
    this.connect();
    const ws = this.ws;
    if (!this.open || !ws) return Promise.reject(new ChannelUnavailable("the node channel is not open"));
    if (this.pending.size >= NODE_CHANNEL_MAX_IN_FLIGHT)
      return Promise.reject(new ChannelUnavailable("the node channel has as many calls in flight as it may"));
    const id = this.nextId++;
    const message = JSON.stringify({ id, op, credential, input });
    if (Buffer.byteLength(message) > NODE_CHANNEL_MAX_MESSAGE_BYTES)
      return Promise.reject(new ChannelUnavailable("the call is larger than a channel message may be"));
    return new Promise<ChannelReply>((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        o.signal?.removeEventListener("abort", onAbort);
        this.pending.delete(id);
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no reply over the node channel within ${o.timeoutMs} ms`));
      }, o.timeoutMs);
      const onAbort = () => {
        done();
        reject(o.signal?.reason ?? new Error("aborted"));
      };
      if (o.signal?.aborted) return onAbort();
      o.signal?.addEventListener("abort", onAbort, { once: true });
      this.pending.set(id, {
        resolve: (r) => {
          done();
          resolve(r);
        },
        reject: (e) => {
          done();
          reject(e);
        },
      });
      ws.send(message, (error) => {
        if (error) this.pending.get(id)?.reject(new ChannelUnavailable(error.message));
      });
    });
  }

  /** Closes the channel for good; calls in flight fail (and go over HTTP, if anyone still makes them). */
  close(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.ws?.terminate();
    this.closed("closed by the agent");
  }

  /** Starts connecting unless open, connecting, stopped or backing off. */
  private connect(): void {
    if (this.open || this.connecting || this.stopped || Date.now() < this.notBefore) return;
    this.connecting = true;
    const url = new URL(NODE_CHANNEL_PATH, this.opts.server);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(url, {
      headers: { authorization: `Bearer ${this.opts.credential()}` },
      perMessageDeflate: false,
      handshakeTimeout: this.opts.connectTimeoutMs ?? 10_000,
      maxPayload: 64 * 1024 * 1024,
    });
    this.ws = ws;
    ws.on("upgrade", (res) => {
      const lease = Number(res.headers[NODE_CHANNEL_LEASE_HEADER]);
      this.leaseMs = Number.isInteger(lease) && lease > 0 ? lease : null;
    });
    ws.on("ping", () => {
      this.heardAt = Date.now();
    });
    ws.on("open", () => {
      this.connecting = false;
      this.open = true;
      this.heardAt = Date.now();
      this.retryMs = this.opts.retryMs ?? 1_000;
      this.opts.onState?.(true);
    });
    ws.on("message", (data: Buffer, isBinary: boolean) => {
      const reply = isBinary ? null : readChannelMessage(nodeChannelReplySchema, data.toString("utf8"));
      if (!reply) return void ws.close(1007, "a reply is JSON: {id, status, body | error}");
      this.pending.get(reply.id)?.resolve(reply);
    });
    // A refused upgrade (an older control plane, a proxy without WebSockets, a refused credential).
    ws.on("unexpected-response", (_req, res) => {
      ws.terminate();
      this.failed(`the control plane answered the channel's upgrade with ${res.statusCode}`);
    });
    ws.on("error", (error) => this.failed(error.message));
    ws.on("close", (code, reason) => this.failed(`closed (${code}${reason.length ? `: ${reason}` : ""})`));
  }

  private failed(why: string): void {
    if (!this.connecting && !this.open) return;
    const wasOpen = this.open;
    this.closed(why);
    if (this.stopped) return;
    // Back off before the next try; an open channel that dropped is tried again at once.
    const wait = wasOpen ? 0 : this.retryMs;
    if (!wasOpen) this.retryMs = Math.min(this.retryMs * 2, this.opts.maxRetryMs ?? 60_000);
    this.notBefore = Date.now() + wait;
  }

  private closed(why: string): void {
    const wasOpen = this.open;
    this.open = false;
    this.connecting = false;
    this.ws = null;
    this.leaseMs = null;
    for (const p of [...this.pending.values()]) p.reject(new ChannelUnavailable(`the node channel ${why}`));
    if (wasOpen) this.opts.onState?.(false, why);
  }
}
