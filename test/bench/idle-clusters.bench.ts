/**
 * What an idle cluster costs (issue #12): T tenants sign up and create C clusters (no nodes) through
 * the public API, the provisioner makes each control plane active; then nothing changes for S
 * seconds. Reports, per idle cluster: bytes in Postgres (the database's growth), bytes in Redis
 * (every key of this stack, by MEMORY USAGE), and the RSS growth of the API and the provisioner;
 * and, while idle, the CPU seconds per minute of each process and the transactions per minute
 * Postgres commits for them. Goal: < 50 KB a cluster, ~0 CPU when idle (no per-cluster periodic work).
 *
 *   npm run bench:idle-clusters                                 # 1,000 tenants, 10,000 clusters, 60 s idle
 *   npm run bench:idle-clusters -- --tenants 20 --clusters 200 --idle 20
 *   npm run bench:idle-clusters -- --json                       # table, then one JSON line last
 */
import { testRedisUrl } from "@berth/db/testing";
import { sql } from "drizzle-orm";
import { Redis } from "ioredis";
import { poll } from "../e2e/support";
import { flag, json } from "./flags";
import { processUsage, startStack } from "./stack";

const TENANTS = flag("--tenants", 1_000);
const CLUSTERS = flag("--clusters", 10_000);
const IDLE_S = flag("--idle", 60);
/** A tenant may have 10 clusters (MAX_CLUSTERS_PER_TENANT). */
const PER_TENANT = Math.ceil(CLUSTERS / TENANTS);
if (PER_TENANT > 10) throw new Error("at most 10 clusters a tenant: give more --tenants");

const unlimited = "100000000";
const stack = await startStack({
  apiEnv: {
    RATE_LIMIT_PUBLIC_PER_IP_PER_MINUTE: unlimited,
    RATE_LIMIT_PER_PRINCIPAL_PER_MINUTE: unlimited,
    RATE_LIMIT_PER_TENANT_PER_MINUTE: unlimited,
  },
});
const redis = new Redis(testRedisUrl());
const rows = (q: ReturnType<typeof sql>) =>
  stack.db.db.$system.execute(q) as Promise<Record<string, unknown>[]>;
const databaseBytes = async () =>
  Number((await rows(sql`select pg_database_size(current_database()) as n`))[0]?.n);
const committed = async () =>
  Number(
    (await rows(sql`select xact_commit as n from pg_stat_database where datname = current_database()`))[0]?.n,
  );
/** Bytes of every Redis key of this stack (its prefix), as MEMORY USAGE counts them. */
async function redisBytes(): Promise<{ keys: number; bytes: number }> {
  let cursor = "0";
  let keys = 0;
  let bytes = 0;
  do {
    const [next, batch] = await redis.scan(cursor, "MATCH", `${stack.prefix}:*`, "COUNT", 1000);
    cursor = next;
    for (const key of batch) {
      keys++;
      bytes += (await redis.memory("USAGE", key)) ?? 0;
    }
  } while (cursor !== "0");
  return { keys, bytes };
}
const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Runs `fn` over `items`, `width` at a time. */
async function inParallel<T>(items: T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await fn(items[next++] as T);
    }),
  );
}

const password = "correct horse battery staple";
const tokens: string[] = [];
const signupStarted = performance.now();
await inParallel(
  Array.from({ length: TENANTS }, (_, i) => i),
  8,
  async (i) => {
    const email = `idle-${i}@bench.test`;
    await stack.call("POST", "/v1/signup", undefined, { tenantName: `idle-${i}`, email, password });
    tokens.push(
      (await stack.call("POST", "/v1/auth/token", undefined, { email, password })).accessToken as string,
    );
  },
);
const signupSeconds = (performance.now() - signupStarted) / 1000;
await settle(2_000);
const before = {
  db: await databaseBytes(),
  redis: await redisBytes(),
  api: await processUsage(stack.api),
  provisioner: await processUsage(stack.provisioner),
};

const createStarted = performance.now();
const work = Array.from({ length: CLUSTERS }, (_, i) => ({ token: tokens[i % TENANTS] as string, i }));
await inParallel(work, 16, async ({ token, i }) => {
  await stack.call("POST", "/v1/clusters", token, { name: `c${i}` });
});
const countActive = async () =>
  Number((await rows(sql`select count(*) as n from clusters where status = 'active'`))[0]?.n);
await poll(`${CLUSTERS} clusters active`, async () => (await countActive()) === CLUSTERS, 30 * 60_000);
const createSeconds = (performance.now() - createStarted) / 1000;

// Whatever follows creation (events, first sweeps) settles; then nothing changes.
await settle(10_000);
const idleStart = {
  api: await processUsage(stack.api),
  provisioner: await processUsage(stack.provisioner),
  commits: await committed(),
};
await settle(IDLE_S * 1000);
const idleEnd = {
  api: await processUsage(stack.api),
  provisioner: await processUsage(stack.provisioner),
  commits: await committed(),
};
const after = { db: await databaseBytes(), redis: await redisBytes() };

const perMinute = (v: number) => +((v * 60) / IDLE_S).toFixed(3);
const result = {
  tenants: TENANTS,
  clusters: CLUSTERS,
  signupSeconds: +signupSeconds.toFixed(1),
  createSeconds: +createSeconds.toFixed(1),
  clustersPerSecond: +(CLUSTERS / createSeconds).toFixed(1),
  postgresBytesPerCluster: Math.round((after.db - before.db) / CLUSTERS),
  redisBytesPerCluster: Math.round((after.redis.bytes - before.redis.bytes) / CLUSTERS),
  redisKeys: after.redis.keys,
  apiRssGrowthBytesPerCluster: Math.round(((idleEnd.api.rssMiB - before.api.rssMiB) * 1024 ** 2) / CLUSTERS),
  provisionerRssGrowthBytesPerCluster: Math.round(
    ((idleEnd.provisioner.rssMiB - before.provisioner.rssMiB) * 1024 ** 2) / CLUSTERS,
  ),
  apiRssMiB: idleEnd.api.rssMiB,
  provisionerRssMiB: idleEnd.provisioner.rssMiB,
  idleApiCpuSecondsPerMinute: perMinute(idleEnd.api.cpuSeconds - idleStart.api.cpuSeconds),
  idleProvisionerCpuSecondsPerMinute: perMinute(
    idleEnd.provisioner.cpuSeconds - idleStart.provisioner.cpuSeconds,
  ),
  idlePostgresCommitsPerMinute: perMinute(idleEnd.commits - idleStart.commits),
};
console.table(Object.entries(result).map(([figure, value]) => ({ figure, value })));
if (json) console.log(JSON.stringify(result));

redis.disconnect();
await stack.stop();
await stack.db.drop();
process.exit(0);
