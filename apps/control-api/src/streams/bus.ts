import type { Logger } from "@berth/core";
import { duplicateRedis, type RedisClient } from "@berth/core/redis";
import { createNodeWaiters, type NodeWaiter } from "../push/node-waiters";

/**
 * Redis pub/sub for streams, one subscriber connection per replica: the bytes of every stream this
 * replica relays, and the wake-ups of the stream polls it holds. A stream's two ends may be on
 * different replicas (the client reached one, the node agent another); each subscribes to its own
 * channel and publishes on the other's.
 *
 * Pub/sub delivers in order and at most once. When the subscriber connection drops, what was
 * published meanwhile is lost: every stream of this replica ends with an error then (`onReset`),
 * and every poll looks again. That is the drop policy; flow control (relay.ts) keeps what a slow
 * reader has in flight bounded, so Redis never disconnects a subscriber for its backlog.
 */
export interface StreamBus {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Resolves once subscribed; the returned function unsubscribes. */
  subscribe(channel: string, onMessage: (message: Buffer) => void): Promise<() => void>;
  publish(channel: string, message: Uint8Array): Promise<void>;
  /** Wakes the stream polls of a node, on whichever replica they are held. */
  wakeNode(nodeId: string): Promise<void>;
  /** A waiter for a node's wake-ups; `next` resolves true when woken, false after `timeoutMs`. */
  waitNode(nodeId: string): NodeWaiter;
  /** Called when the subscriber connection came back: messages may have been lost. */
  onReset(listener: () => void): () => void;
  /** Key and channel names of this deployment (QUEUE_PREFIX). */
  key(...parts: string[]): string;
}

export type { NodeWaiter };

export function createStreamBus(opts: { redis: RedisClient; prefix: string; logger: Logger }): StreamBus {
  const key = (...parts: string[]) => [opts.prefix, "streams", ...parts].join(":");
  const wakeChannel = key("wake");
  // Blocking-free, but a subscriber must wait out reconnections rather than fail fast.
  const sub = duplicateRedis(opts.redis, {
    lazyConnect: true,
    enableOfflineQueue: true,
    maxRetriesPerRequest: null,
    commandTimeout: undefined,
  });
  const handlers = new Map<string, Set<(m: Buffer) => void>>();
  const waiters = createNodeWaiters();
  const resetListeners = new Set<() => void>();
  const subscribing = new Map<string, Promise<unknown>>();
  let connectedOnce = false;

  sub.on("messageBuffer", (channel: Buffer, message: Buffer) => {
    const name = channel.toString();
    if (name === wakeChannel) {
      waiters.wake(message.toString());
      return;
    }
    // The parser may reuse the memory under `message` once this returns: keep a copy.
    const copy = Buffer.from(message);
    for (const h of handlers.get(name) ?? []) h(copy);
  });
  sub.on("error", (err: Error) => opts.logger.warn({ err: err.message }, "stream bus: redis error"));
  sub.on("ready", () => {
    if (!connectedOnce) {
      connectedOnce = true;
      return;
    }
    opts.logger.warn("stream bus: subscriber reconnected; streams in flight are ended");
    waiters.wakeAll();
    for (const l of [...resetListeners]) l();
  });

  return {
    key,
    async start() {
      // Without Redis now, the subscriber keeps trying (streams answer 503 meanwhile).
      await sub
        .connect()
        .catch((err: Error) => opts.logger.warn({ err: err.message }, "stream bus: cannot connect yet"));
      const subscribed = sub.subscribe(wakeChannel);
      if (sub.status === "ready") await subscribed;
      else subscribed.catch(() => {});
    },
    async stop() {
      waiters.endAll();
      sub.disconnect();
    },
    async subscribe(channel, onMessage) {
      let set = handlers.get(channel);
      if (!set) {
        set = new Set();
        handlers.set(channel, set);
        subscribing.set(
          channel,
          sub.subscribe(channel).finally(() => subscribing.delete(channel)),
        );
      }
      set.add(onMessage);
      await subscribing.get(channel);
      return () => {
        const s = handlers.get(channel);
        if (!s?.delete(onMessage) || s.size > 0) return;
        handlers.delete(channel);
        void sub.unsubscribe(channel).catch(() => {});
      };
    },
    async publish(channel, message) {
      await opts.redis.publish(channel, Buffer.from(message.buffer, message.byteOffset, message.byteLength));
    },
    async wakeNode(nodeId) {
      await opts.redis.publish(wakeChannel, nodeId);
    },
    waitNode(nodeId) {
      return waiters.add(nodeId);
    },
    onReset(listener) {
      resetListeners.add(listener);
      return () => resetListeners.delete(listener);
    },
  };
}
