import { BerthError } from "@berth/core";
import type { Redis } from "ioredis";

// One atomic round trip for every window of a request: count the hit (its cost, 1 for most calls)
// in each fixed window (starting the window on its first hit), and report each window's count and
// remaining time. ARGV: the cost, then each window's length.
const HIT = `
local out = {}
local cost = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  local n = redis.call('INCRBY', key, cost)
  if n == cost then redis.call('PEXPIRE', key, ARGV[i + 1]) end
  out[#out + 1] = n
  out[#out + 1] = redis.call('PTTL', key)
end
return out`;

export interface Window {
  key: string;
  limit: number;
  windowMs: number;
}

/**
 * Counts a hit of `cost` units (1 for most calls; a list counts the rows it may read) in every
 * window; the first window over its limit becomes 429 with Retry-After.
 */
export async function hit(
  redis: Redis,
  prefix: string,
  windows: Window[],
  what: string,
  cost = 1,
): Promise<void> {
  const result = (await redis.eval(
    HIT,
    windows.length,
    ...windows.map((w) => `${prefix}:rl:${w.key}`),
    cost,
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
