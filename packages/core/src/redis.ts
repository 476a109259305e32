import { Cluster, Redis, type RedisOptions } from "ioredis";
import type { RedisTarget } from "./redis-target";

/**
 * Where Berth's Redis is: one server (`REDIS_URL`), or a Redis Cluster reached through any of its
 * nodes (`REDIS_CLUSTER_NODES`, `host:port,host:port`), as a managed Redis (ElastiCache, Azure
 * Cache) serves it.
 */
export type RedisClient = Redis | Cluster;

/** A client for the target with these options (for a cluster, the options of each node's connection). */
export function createRedisClient(target: RedisTarget, options: RedisOptions): RedisClient {
  if (!target.clusterNodes) return new Redis(target.url, options);
  const { lazyConnect, enableOfflineQueue, ...perNode } = options;
  return new Cluster([...target.clusterNodes], {
    redisOptions: perNode,
    ...(lazyConnect !== undefined ? { lazyConnect } : {}),
    ...(enableOfflineQueue !== undefined ? { enableOfflineQueue } : {}),
  });
}

/** Another connection to the same Redis with some options changed (a subscriber, a blocking reader). */
export function duplicateRedis(client: RedisClient, options: RedisOptions): RedisClient {
  if (client instanceof Cluster) {
    const { enableOfflineQueue, ...perNode } = options;
    return client.duplicate(undefined, {
      ...client.options,
      redisOptions: { ...client.options.redisOptions, ...perNode },
      ...(enableOfflineQueue !== undefined ? { enableOfflineQueue } : {}),
    });
  }
  return client.duplicate(options);
}
