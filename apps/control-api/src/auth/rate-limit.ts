import { BerthError } from "@berth/core";
import type { Redis } from "ioredis";

// One atomic step of a fixed-window counter: count this hit, start the window on the first one.
const HIT = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return { n, redis.call('PTTL', KEYS[1]) }`;

export interface Window {
  key: string;
  limit: number;
  windowMs: number;
}

/** Counts a hit in every window; the first window over its limit becomes 429 with Retry-After. */
export async function hit(redis: Redis, prefix: string, windows: Window[], what: string): Promise<void> {
  for (const w of windows) {
    const [count, ttl] = (await redis.eval(HIT, 1, `${prefix}:rl:${w.key}`, w.windowMs)) as [number, number];
    if (count > w.limit) {
      const retryAfterSeconds = Math.max(1, Math.ceil(ttl / 1000));
      throw new BerthError("RATE_LIMITED", `too many ${what}; retry in ${retryAfterSeconds} s`, {
        retryable: true,
        details: { retryAfterSeconds },
      });
    }
  }
}

/** The current count of a window without counting a hit (for login throttling before checking a password). */
export async function peek(
  redis: Redis,
  prefix: string,
  w: Window,
): Promise<{ count: number; ttlMs: number }> {
  const key = `${prefix}:rl:${w.key}`;
  const [count, ttl] = await Promise.all([redis.get(key), redis.pttl(key)]);
  return { count: Number(count ?? 0), ttlMs: ttl };
}

export async function reset(redis: Redis, prefix: string, key: string): Promise<void> {
  await redis.del(`${prefix}:rl:${key}`);
}
