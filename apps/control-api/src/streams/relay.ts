import {
  decodeStreamMessage,
  encodeStreamMessage,
  type StreamEnd,
  type StreamMessage,
} from "@berth/protocol";
import type { StreamBus } from "./bus";

/** A stream's two ends in the control plane: the client's request, and the node agent's connection. */
export type RelaySide = "client" | "node";

export interface RelayOptions {
  bus: StreamBus;
  streamId: string;
  side: RelaySide;
  /** Data, `started` and `end` from the other end, in order (acks and pings are handled here). */
  onMessage: (message: StreamMessage) => void;
  /** Bytes of data sent and not yet acknowledged before `send` waits (default 256 KiB). */
  windowBytes?: number;
  pingMs?: number;
  /** Silence of the other end, once heard from, after which the stream ends (default 20 s). */
  peerTimeoutMs?: number;
  /** Whether the other end is there from the start (else: from its first message). */
  peerPresent: boolean;
}

/** One end of a stream relayed over Redis pub/sub, with flow control and liveness. */
export interface Relay {
  /** Sends to the other end; data waits while the other end has `windowBytes` unacknowledged. */
  send(message: StreamMessage): Promise<void>;
  /** Bytes of received data passed on (to the client, to the agent): acknowledged to the sender. */
  delivered(bytes: number): void;
  /** Ends the stream, telling the other end (once). */
  end(end: StreamEnd): Promise<void>;
  /** How the stream ended: said by either end, or the other end fell silent, or Redis dropped us. */
  readonly done: Promise<StreamEnd>;
  readonly ended: boolean;
}

const other = (side: RelaySide): RelaySide => (side === "client" ? "node" : "client");
export const relayChannel = (bus: StreamBus, streamId: string, side: RelaySide) =>
  bus.key("s", streamId, side);

export async function openRelay(opts: RelayOptions): Promise<Relay> {
  const windowBytes = opts.windowBytes ?? 256 * 1024;
  const pingMs = opts.pingMs ?? 5_000;
  const peerTimeoutMs = opts.peerTimeoutMs ?? 20_000;
  const peerChannel = relayChannel(opts.bus, opts.streamId, other(opts.side));
  let ended = false;
  let finish: (end: StreamEnd) => void = () => {};
  const done = new Promise<StreamEnd>((resolve) => (finish = resolve));
  let unacked = 0;
  let toAck = 0;
  let ackTimer: NodeJS.Timeout | null = null;
  const windowWaiters: (() => void)[] = [];
  const openWindow = () => {
    for (const w of windowWaiters.splice(0)) w();
  };
  let peerPresent = opts.peerPresent;
  let lastHeard = Date.now();
  let unsubscribe: () => void = () => {};
  let offReset: () => void = () => {};
  let pinger: NodeJS.Timeout | undefined;

  const publish = (m: StreamMessage) => opts.bus.publish(peerChannel, encodeStreamMessage(m));

  const stop = (end: StreamEnd) => {
    if (ended) return;
    ended = true;
    clearInterval(pinger);
    if (ackTimer) clearTimeout(ackTimer);
    unsubscribe();
    offReset();
    openWindow();
    finish(end);
  };

  const flushAck = () => {
    ackTimer = null;
    if (toAck === 0 || ended) return;
    const bytes = toAck;
    toAck = 0;
    publish({ type: "ack", bytes }).catch(() => {});
  };

  const onRaw = (raw: Buffer) => {
    if (ended) return;
    const m = decodeStreamMessage(raw);
    lastHeard = Date.now();
    peerPresent = true;
    if (!m)
      return stop({ ok: false, reason: "BadMessage", message: "the stream carried a malformed message" });
    if (m.type === "ping") return;
    if (m.type === "ack") {
      unacked = Math.max(0, unacked - m.bytes);
      if (unacked < windowBytes) openWindow();
      return;
    }
    opts.onMessage(m);
    if (m.type === "end") stop(m.end);
  };

  unsubscribe = await opts.bus.subscribe(relayChannel(opts.bus, opts.streamId, opts.side), onRaw);
  if (ended) unsubscribe();
  offReset = opts.bus.onReset(() =>
    stop({
      ok: false,
      reason: "Interrupted",
      message: "the stream was interrupted (the control plane lost its Redis connection); ask again",
    }),
  );
  pinger = setInterval(() => {
    if (ended) return;
    if (peerPresent && Date.now() - lastHeard > peerTimeoutMs)
      return stop({ ok: false, reason: "Gone", message: "the other end of the stream stopped answering" });
    publish({ type: "ping" }).catch(() => {});
  }, pingMs);
  pinger.unref?.();

  return {
    get done() {
      return done;
    },
    get ended() {
      return ended;
    },
    async send(m) {
      if (ended) return;
      if (m.type === "data") {
        while (unacked >= windowBytes && !ended)
          await new Promise<void>((resolve) => windowWaiters.push(resolve));
        if (ended) return;
        unacked += m.payload.byteLength;
      }
      await publish(m);
    },
    delivered(bytes) {
      if (ended || bytes <= 0) return;
      toAck += bytes;
      if (toAck >= windowBytes / 4) {
        if (ackTimer) clearTimeout(ackTimer);
        flushAck();
      } else ackTimer ??= setTimeout(flushAck, 20);
    },
    async end(end) {
      if (ended) return;
      stop(end);
      await publish({ type: "end", end }).catch(() => {});
    },
  };
}
