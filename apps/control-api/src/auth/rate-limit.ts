import { BerthError } from "@berth/core";
import type { Redis } from "ioredis";

// One atomic round trip for every window of a request: count the hit in each fixed window
// (starting the window on its first hit), and report each window's count and remaining time.
const HIT = `
local out = {}
for i, key in ipairs(KEYS) do
  local n = redis.call('INCR', key)
  if n == 1 then redis.call('PEXPIRE', key, ARGV[i]) end
  out[#out + 1] = n
  out[#out + 1] = redis.call('PTTL', key)
end
return out`;

export interface Window {
  key: string;
  limit: number;
  windowMs: number;
}

/** Counts a hit in every window; the first window over its limit becomes 429 with Retry-After. */
export async function hit(redis: Redis, prefix: string, windows: Window[], what: string): Promise<void> {
  const result = (await redis.eval(
    HIT,
    windows.length,
    ...windows.map((w) => `${prefix}:rl:${w.key}`),
    ...windows.map((w) => w.windowMs),
  )) as number[];
  windows.forEach((w, i) => {
    const count = result[i * 2] ?? 0;
    const ttl = result[i * 2 + 1] ?? w.windowMs;
    if (count > w.limit) {
      const retryAfterSeconds = Math.max(1, Math.ceil(ttl / 1000));
      throw new BerthError("RATE_LIMITED", `too many ${what}; retry in ${retryAfterSeconds} s`, {
        retryable: true,
        details: { retryAfterSeconds },
      });
    }
  });
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
