import { randomBytes } from "node:crypto";
import { Counter, type Registry } from "prom-client";
import { AdmissionCache } from "../auth/admission-cache";
import type { Deps, UserCaller } from "../deps";
import type { AssignmentHub } from "../push/hub";

/**
 * A tenant's reads answered from this replica's memory (its clusters, a page or one: the
 * authenticated read every client polls). A cached reply is used only while all of these hold:
 * - the replica hears Postgres' notifications: the `clusters` trigger (migration 0035) says
 *   `read:<tenant>` on every commit that changes a tenant's clusters, whoever wrote it (the API,
 *   the provisioner), and the entries of that tenant go; everything goes when notifications may
 *   have been lost, and nothing is cached while the replica is not listening;
 * - the tenant's read version in Redis is the one the entry was read under. The request's rate
 *   limit call reads it in the same round trip (`UserCaller.readVersion`), and every write a
 *   tenant makes through any replica sets a new one before it is answered: a client that was told
 *   its write was done reads it back through any replica, not only once a notification arrived;
 * - it is younger than `READ_TTL_MS`, a net under both.
 * Entries are frozen: a reply is shared by every request that hits it.
 */
export interface TenantReads {
  /** `load()`'s value for `key` of the caller's tenant, from the cache when it may be. */
  get<T>(caller: UserCaller, key: string, load: () => Promise<T>): Promise<T>;
}

const READ_TTL_MS = 10_000;
/** A page holds at most MAX_CLUSTERS_PER_TENANT clusters (~1 KB each): at most ~50 MB, ~5 MB as usually read. */
const MAX_ENTRIES = 5_000;
/** A read version lives a day after the tenant's last write (a tenant idle longer reads from scratch). */
const VERSION_TTL_MS = 24 * 3_600_000;

export const readVersionKey = (prefix: string, tenantId: string) => `${prefix}:readver:${tenantId}`;

export function tenantReadsFor(hub: AssignmentHub, metrics?: Registry): TenantReads {
  const lookups = metrics
    ? new Counter({
        name: "berth_read_cache_lookups_total",
        help: "Tenant reads answered from the replica's cache (hit) or from Postgres (miss)",
        labelNames: ["result"],
        registers: [metrics],
      })
    : undefined;
  const cache = new AdmissionCache<unknown>({
    enabled: () => hub.listening,
    ttlMs: READ_TTL_MS,
    maxEntries: MAX_ENTRIES,
    onLookup: (hit) => lookups?.inc({ result: hit ? "hit" : "miss" }),
  });
  hub.onChange("read", (tenantId) => cache.invalidate(tenantId));
  return {
    async get<T>(caller: UserCaller, key: string, load: () => Promise<T>): Promise<T> {
      // A caller whose request read no version (not through `authenticate`) reads from Postgres.
      if (caller.readVersion === undefined) return load();
      const entryKey = `${caller.tenantId}\u0000${caller.readVersion}\u0000${key}`;
      return (await cache.get(caller.tenantId, entryKey, async () => deepFreeze(await load()))) as T;
    },
  };
}

/**
 * Gives the tenant a new read version: every replica's cached reads of it stop being used. Called
 * after every write a tenant's principal makes through the API, before it is answered. It never
 * fails the write, which has committed: without the new version (Redis failed meanwhile), replicas
 * still drop what the write changed of the tenant's clusters when Postgres' notification reaches
 * them, a few milliseconds later.
 */
export async function bumpReadVersion(
  deps: Pick<Deps, "redis" | "queues" | "logger">,
  tenantId: string,
): Promise<void> {
  try {
    await deps.redis.set(
      readVersionKey(deps.queues.prefix, tenantId),
      randomBytes(8).toString("base64url"),
      "PX",
      VERSION_TTL_MS,
    );
  } catch (error) {
    deps.logger.warn({ err: (error as Error).message, tenantId }, "could not set the tenant's read version");
  }
}

function deepFreeze<T>(value: T): T {
  if (value === null || typeof value !== "object" || Object.isFrozen(value)) return value;
  for (const v of Object.values(value)) deepFreeze(v);
  return Object.freeze(value);
}
