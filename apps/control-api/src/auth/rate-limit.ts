import { createHash } from "node:crypto";
import { BerthError } from "@berth/core";
import type { RedisClient } from "@berth/core/redis";

/**
 * Rate limits as the generic cell rate algorithm (GCRA, a token bucket kept as one number): a
 * window of `limit` units per `windowMs` refills at that steady rate and holds at most `burst`
 * units. Unlike fixed windows, nothing doubles at a window's edge, and a tenant that has spent
 * its burst is held to the steady rate (a flood is spread out, not let through at once).
 *
 * One atomic round trip for all of a request's windows: either every window has room for the
 * request's cost and all are charged, or none is charged and the wait of the first full one is
 * returned. Redis's own clock is used, so replicas agree. A key after the windows' is read in the
 * same round trip (the tenant's read version: services/read-cache.ts) and returned third.
 */
const GCRA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local cost = tonumber(ARGV[1])
local windows = tonumber(ARGV[2])
local next = {}
for i = 1, windows do
  local key = KEYS[i]
  local base = 2 + (i - 1) * 3
  local interval = tonumber(ARGV[base + 2]) / tonumber(ARGV[base + 1])
  local burst = tonumber(ARGV[base + 3])
  local tat = tonumber(redis.call('GET', key) or '0')
  if tat < now then tat = now end
  local after = tat + cost * interval
  local allowedAt = after - burst * interval
  if allowedAt > now then return {i, math.ceil(allowedAt - now)} end
  next[i] = after
end
for i = 1, windows do
  redis.call('SET', KEYS[i], string.format('%.0f', next[i]), 'PX', math.ceil(next[i] - now) + 1000)
end
if #KEYS > windows then return {0, 0, redis.call('GET', KEYS[windows + 1]) or ''} end
return {0, 0}`;
/** The script is sent by its digest; only a Redis that has not seen it yet (NOSCRIPT) gets its text. */
const GCRA_SHA = createHash("sha1").update(GCRA).digest("hex");

async function gcra(redis: RedisClient, keys: string[], args: number[]): Promise<unknown> {
  try {
    return await redis.evalsha(GCRA_SHA, keys.length, ...keys, ...args);
  } catch (error) {
    if (!(error instanceof Error && error.message.startsWith("NOSCRIPT"))) throw error;
    return redis.eval(GCRA, keys.length, ...keys, ...args);
  }
}

export interface Window {
  key: string;
  /** Units per window, refilled steadily. */
  limit: number;
  windowMs: number;
  /** The most units that may be spent at once (default: see `burstOf`). */
  burst?: number;
}

/** A tenth of a minute's worth, but never less than the whole limit for small limits (up to 30). */
export function burstOf(w: Window): number {
  return w.burst ?? Math.max(Math.min(w.limit, 30), Math.ceil(w.limit / 6));
}

/**
 * Charges `cost` units (1 for most calls; a list counts the rows it may read) to every window; when
 * one has no room, nothing is charged and the call is 429 with Retry-After. With `read`, returns
 * that key's value as it was then ('' when unset).
 */
export async function hit(
  redis: RedisClient,
  prefix: string,
  windows: Window[],
  what: string,
  opts: { cost?: number; read?: string } = {},
): Promise<string | undefined> {
  const cost = opts.cost ?? 1;
  const keys = windows.map((w) => `${prefix}:rl2:${w.key}`);
  if (opts.read !== undefined) keys.push(opts.read);
  const [blocked, waitMs, read] = (await gcra(redis, keys, [
    cost,
    windows.length,
    ...windows.flatMap((w) => [w.limit, w.windowMs, Math.max(burstOf(w), cost)]),
  ])) as [number, number, string?];
  if (blocked === 0) return read;
  const retryAfterSeconds = Math.max(1, Math.ceil(waitMs / 1000));
  throw new BerthError("RATE_LIMITED", `too many ${what}; retry in ${retryAfterSeconds} s`, {
    retryable: true,
    details: { retryAfterSeconds },
  });
}
