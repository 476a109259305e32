import { BerthError, sha256Hex } from "@berth/core";
import type { RedisClient } from "@berth/core/redis";

/**
 * Sign-in throttling in the manner of AWS and Okta: failures are counted per account and source
 * address (the tight limit: a guesser is stopped after a few tries), per source address (one
 * address guessing many accounts), and per account from anywhere (a softer limit against guessing
 * from many addresses). An address the account signed in from successfully in the last 30 days is
 * exempt from the account-wide limit, so an attacker cannot lock the owner out.
 *
 * Every attempt is counted atomically BEFORE its password is checked, so parallel guesses cannot
 * race past the limit: at most the limit of attempts is ever evaluated. A successful sign-in gives
 * its attempt back and clears the account-and-address window.
 */
export interface LoginLimits {
  perAccountAndIp: number;
  perIp: number;
  perAccount: number;
  windowMs: number;
}

const KNOWN_ADDRESS_TTL_MS = 30 * 86_400_000;

// KEYS: account+ip, ip, account, known-address marker. ARGV: the three limits, the window.
// Returns {0, 0} when the attempt may go ahead (and counts it), else {window index, ms left}.
const RESERVE = `
local known = redis.call('EXISTS', KEYS[4]) == 1
for i = 1, 3 do
  if not (i == 3 and known) then
    local n = tonumber(redis.call('GET', KEYS[i]) or '0')
    if n >= tonumber(ARGV[i]) then
      return {i, redis.call('PTTL', KEYS[i])}
    end
  end
end
for i = 1, 3 do
  if redis.call('INCR', KEYS[i]) == 1 then redis.call('PEXPIRE', KEYS[i], ARGV[4]) end
end
return {0, 0}`;

// KEYS: account+ip, ip, account, known-address marker. ARGV: the marker's lifetime.
const SUCCEEDED = `
redis.call('DEL', KEYS[1])
for i = 2, 3 do
  if tonumber(redis.call('GET', KEYS[i]) or '0') > 0 then redis.call('DECR', KEYS[i]) end
end
redis.call('SET', KEYS[4], '1', 'PX', ARGV[1])
return 1`;

export interface LoginAttempt {
  /** The attempt was a success: give it back, remember the address. */
  succeeded(): Promise<void>;
}

export async function reserveLoginAttempt(
  redis: RedisClient,
  prefix: string,
  limits: LoginLimits,
  email: string,
  sourceIp: string,
): Promise<LoginAttempt> {
  const account = sha256Hex(email.toLowerCase());
  const ip = sha256Hex(sourceIp).slice(0, 32);
  const keys = [
    `${prefix}:login:acct-ip:${account}:${ip}`,
    `${prefix}:login:ip:${ip}`,
    `${prefix}:login:acct:${account}`,
    `${prefix}:login:known:${account}:${ip}`,
  ];
  const [blocked, ttl] = (await redis.eval(
    RESERVE,
    keys.length,
    ...keys,
    limits.perAccountAndIp,
    limits.perIp,
    limits.perAccount,
    limits.windowMs,
  )) as [number, number];
  if (blocked !== 0) {
    const retryAfterSeconds = Math.max(1, Math.ceil((ttl > 0 ? ttl : limits.windowMs) / 1000));
    throw new BerthError("RATE_LIMITED", `too many sign-in attempts; retry in ${retryAfterSeconds} s`, {
      retryable: true,
      details: { retryAfterSeconds },
    });
  }
  return {
    async succeeded() {
      await redis.eval(SUCCEEDED, keys.length, ...keys, KNOWN_ADDRESS_TTL_MS);
    },
  };
}
