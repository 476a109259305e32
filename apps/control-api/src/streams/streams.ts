import type { Logger } from "@berth/core";
import type { RedisClient } from "@berth/core/redis";
import { createStreamBus, type StreamBus } from "./bus";
import { createStreamRegistry, type StreamRegistry } from "./registry";

/** Bounds of logs and exec; every one is configurable (see env.ts). */
export interface StreamLimits {
  /** The node must start a stream within this, else 504 NODE_TIMEOUT. */
  startTimeoutMs: number;
  /** Streams (logs, exec) one tenant may have open at once, over every replica. */
  perTenant: number;
  /** The most one log request returns (a smaller `limitBytes` ends it sooner). */
  logMaxBytes: number;
  /** A non-interactive exec's default and longest run. */
  execDefaultTimeoutMs: number;
  execMaxTimeoutMs: number;
  /** Bytes of stdout and of stderr a non-interactive exec returns; the rest is dropped. */
  execMaxOutputBytes: number;
  /** An interactive exec with no traffic either way for this long is closed. */
  idleTimeoutMs: number;
}

export const DEFAULT_STREAM_LIMITS: StreamLimits = {
  startTimeoutMs: 10_000,
  perTenant: 10,
  logMaxBytes: 16 * 1024 * 1024,
  execDefaultTimeoutMs: 30_000,
  execMaxTimeoutMs: 300_000,
  execMaxOutputBytes: 1024 * 1024,
  idleTimeoutMs: 30 * 60_000,
};

/** What the API needs for streams: the Redis bus, the request registry and the limits. */
export interface Streams {
  readonly bus: StreamBus;
  readonly registry: StreamRegistry;
  readonly limits: StreamLimits;
}

export function createStreams(opts: {
  redis: RedisClient;
  prefix: string;
  logger: Logger;
  limits?: Partial<StreamLimits>;
}): Streams {
  const bus = createStreamBus(opts);
  return {
    bus,
    registry: createStreamRegistry(opts.redis, bus),
    limits: { ...DEFAULT_STREAM_LIMITS, ...opts.limits },
  };
}
