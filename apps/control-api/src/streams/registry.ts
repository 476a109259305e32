import type { RedisClient } from "@berth/core/redis";
import { type StreamRequest, streamRequestSchema } from "@berth/protocol";
import { z } from "zod";
import type { StreamBus } from "./bus";

/**
 * Streams asked of nodes, in Redis (any replica may hold the client, any the agent):
 * `streams:req:<id>` the request until an agent connection takes it, `streams:pending:<node>` the
 * ids a node has not fetched yet (scored by expiry), `streams:tenant:<tenant>` the tenant's open
 * streams (scored by lease expiry, so a crashed replica's slots free themselves).
 */
export interface PendingStream {
  tenantId: string;
  clusterId: string;
  nodeId: string;
  request: StreamRequest;
}

const pendingSchema = z.object({
  tenantId: z.string(),
  clusterId: z.string(),
  nodeId: z.string(),
  request: streamRequestSchema,
});

/** Takes up to ARGV[2] unexpired ids of a node's pending set, dropping expired ones. */
const CLAIM = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local ids = redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[2]) - 1)
if #ids > 0 then redis.call('ZREM', KEYS[1], unpack(ids)) end
return ids
`;

/** Deletes and returns a request if ARGV[1] is the node it was asked of. */
const TAKE = `
local v = redis.call('GET', KEYS[1])
if not v then return false end
local ok, p = pcall(cjson.decode, v)
if not ok or type(p) ~= 'table' or p.nodeId ~= ARGV[1] then return false end
redis.call('DEL', KEYS[1])
return v
`;

/** Adds a member to a tenant's slots unless it holds ARGV[3] live ones already. */
const ACQUIRE = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1
`;

export function createStreamRegistry(redis: RedisClient, bus: StreamBus) {
  const reqKey = (id: string) => bus.key("req", id);
  const pendingKey = (nodeId: string) => bus.key("pending", nodeId);
  const tenantKey = (tenantId: string) => bus.key("tenant", tenantId);

  return {
    /** Registers a stream for its node and wakes the node's poll. */
    async register(p: PendingStream, ttlMs: number): Promise<void> {
      const expiresAt = Date.parse(p.request.expiresAt);
      await redis.set(reqKey(p.request.streamId), JSON.stringify(p), "PX", ttlMs);
      await redis.zadd(pendingKey(p.nodeId), expiresAt, p.request.streamId);
      await redis.pexpire(pendingKey(p.nodeId), ttlMs);
      await bus.wakeNode(p.nodeId);
    },

    /** The requests a node has not fetched yet (each handed out once). */
    async claim(nodeId: string, max: number, now = Date.now()): Promise<StreamRequest[]> {
      const ids = (await redis.eval(CLAIM, 1, pendingKey(nodeId), now, max)) as string[];
      const found = await Promise.all(ids.map((id) => redis.get(reqKey(id))));
      const out: StreamRequest[] = [];
      for (const raw of found) {
        const p = raw === null ? null : pendingSchema.safeParse(JSON.parse(raw));
        if (p?.success && p.data.nodeId === nodeId) out.push(p.data.request);
      }
      return out;
    },

    /**
     * The connection of the node it was asked of takes the request (once): null when it is
     * unknown, taken, expired or another node's (which leaves it be).
     */
    async take(streamId: string, nodeId: string): Promise<PendingStream | null> {
      const raw = (await redis.eval(TAKE, 1, reqKey(streamId), nodeId)) as string | null;
      if (raw === null) return null;
      const p = pendingSchema.safeParse(JSON.parse(raw));
      return p.success ? p.data : null;
    },

    /** Withdraws a request no agent took; true when it was still waiting (so the node never came). */
    async withdraw(p: PendingStream): Promise<boolean> {
      await redis.zrem(pendingKey(p.nodeId), p.request.streamId);
      return (await redis.del(reqKey(p.request.streamId))) === 1;
    },

    /** A slot among the tenant's `limit` concurrent streams, held for `leaseMs` unless renewed. */
    async acquire(tenantId: string, streamId: string, limit: number, leaseMs: number): Promise<boolean> {
      const now = Date.now();
      const ok = await redis.eval(
        ACQUIRE,
        1,
        tenantKey(tenantId),
        now,
        now + leaseMs,
        limit,
        streamId,
        leaseMs * 2,
      );
      return ok === 1;
    },
    async renew(tenantId: string, streamId: string, leaseMs: number): Promise<void> {
      await redis.zadd(tenantKey(tenantId), "XX", Date.now() + leaseMs, streamId);
      await redis.pexpire(tenantKey(tenantId), leaseMs * 2);
    },
    async release(tenantId: string, streamId: string): Promise<void> {
      await redis.zrem(tenantKey(tenantId), streamId);
    },
  };
}

export type StreamRegistry = ReturnType<typeof createStreamRegistry>;
