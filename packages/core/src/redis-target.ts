/** Where Berth's Redis is (see redis.ts, which connects to it). */
export interface RedisTarget {
  url: string;
  /** Set: a Redis Cluster's seed nodes, and `url` is not used. */
  clusterNodes?: readonly { host: string; port: number }[] | undefined;
}

/**
 * A Redis Cluster keeps a multi-key command (a Lua script, BullMQ's own) to keys of one hash slot;
 * every key Berth makes starts with the queue prefix, so in a cluster the prefix must be a hash tag
 * (`{berth}`): all of one deployment's keys then live in one slot.
 */
export function clusterPrefixProblem(prefix: string): string | null {
  return /^\{[^{}]+\}/.test(prefix)
    ? null
    : `with REDIS_CLUSTER_NODES, QUEUE_PREFIX must start with a hash tag such as {${prefix}}: multi-key commands need one slot`;
}

/** `host:port,host:port` → the seed nodes; null when a part is not `host:port`. */
export function parseClusterNodes(value: string): { host: string; port: number }[] | null {
  const nodes = value.split(",").map((part) => {
    const m = /^\s*([^\s:]+):(\d{1,5})\s*$/.exec(part);
    const port = Number(m?.[2]);
    return m?.[1] && port > 0 && port < 65536 ? { host: m[1], port } : null;
  });
  return nodes.every((n) => n !== null) && nodes.length > 0
    ? (nodes as { host: string; port: number }[])
    : null;
}
