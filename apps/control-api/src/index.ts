import type { Server } from "node:http";
import { createLogger, createMetricsRegistry, FairSemaphore, parseMasterKey } from "@berth/core";
import { createQueues } from "@berth/core/queues";
import { createRedisClient } from "@berth/core/redis";
import { closeDb, createDb } from "@berth/db";
import { serve } from "@hono/node-server";
import { API_REDIS_OPTIONS, createApp, createMetricsApp } from "./app";
import { loadAccessTokens } from "./auth/access-tokens";
import { authCachesFor } from "./auth/authorize";
import type { Deps } from "./deps";
import { parseEnv } from "./env";
import { attachWebSockets } from "./http/upgrade";
import { createAssignmentHub } from "./push/hub";
import { builtAgentSource } from "./services/agent-bundle";
import { tenantReadsFor } from "./services/read-cache";
import { createStreams } from "./streams/streams";

const env = parseEnv();
const logger = createLogger("control-api", env.LOG_LEVEL);
const db = createDb(
  { url: env.DATABASE_URL, systemUrl: env.DATABASE_SYSTEM_URL },
  { applicationName: "berth-control-api" },
);
const redis = createRedisClient(
  { url: env.REDIS_URL, clusterNodes: env.REDIS_CLUSTER_NODES },
  { ...API_REDIS_OPTIONS, lazyConnect: true },
);
// While Redis is away, requests answer 503 (see http/errors.ts) and ioredis keeps reconnecting.
redis.on("error", (err) => logger.warn({ err: err.message }, "redis connection error"));
await redis.connect();
const master = parseMasterKey(env.BERTH_MASTER_KEY);
const assignments = createAssignmentHub({ url: env.DATABASE_SYSTEM_URL, logger });
const metricsRegistry = createMetricsRegistry("control-api");
await assignments.start();
const streams = createStreams({
  redis,
  prefix: env.QUEUE_PREFIX,
  logger,
  limits: {
    startTimeoutMs: env.STREAM_START_TIMEOUT_SECONDS * 1000,
    perTenant: env.STREAMS_PER_TENANT,
    logMaxBytes: env.LOG_MAX_BYTES,
    execDefaultTimeoutMs: Math.min(env.EXEC_TIMEOUT_SECONDS, env.EXEC_MAX_TIMEOUT_SECONDS) * 1000,
    execMaxTimeoutMs: env.EXEC_MAX_TIMEOUT_SECONDS * 1000,
    execMaxOutputBytes: env.EXEC_MAX_OUTPUT_BYTES,
    idleTimeoutMs: env.EXEC_IDLE_TIMEOUT_SECONDS * 1000,
  },
});
await streams.bus.start();
const deps: Deps = {
  db,
  redis,
  queues: createQueues(redis, env.QUEUE_PREFIX),
  logger,
  metrics: metricsRegistry,
  master,
  tokens: await loadAccessTokens(db, master, {
    issuer: env.PUBLIC_URL,
    ttlSeconds: env.ACCESS_TOKEN_TTL_SECONDS,
  }),
  publicUrl: env.PUBLIC_URL,
  localVmDir: env.LOCAL_VM_DIR,
  bodyLimitBytes: env.BODY_LIMIT_BYTES,
  trustProxy: env.TRUST_PROXY,
  refreshTokenTtlSeconds: env.REFRESH_TOKEN_TTL_SECONDS,
  metricsToken: env.METRICS_TOKEN ?? null,
  platformAdminToken: env.PLATFORM_ADMIN_TOKEN ?? null,
  allowedImagePrefixes: env.ALLOWED_IMAGE_PREFIXES,
  webhookAllowLoopback: env.WEBHOOK_ALLOW_LOOPBACK,
  appsDomain: env.BERTH_APPS_DOMAIN,
  registryHost: env.REGISTRY_HOST ?? null,
  registry: env.REGISTRY_TOKEN_KEY_FILE
    ? {
        key: env.REGISTRY_TOKEN_KEY_FILE,
        issuer: env.REGISTRY_TOKEN_ISSUER,
        service: env.REGISTRY_SERVICE,
        ttlSeconds: env.REGISTRY_TOKEN_TTL_SECONDS,
      }
    : null,
  checkReplies: env.CHECK_REPLIES,
  limits: {
    requestsPerMinutePerPrincipal: env.RATE_LIMIT_PER_PRINCIPAL_PER_MINUTE,
    requestsPerMinutePerTenant: env.RATE_LIMIT_PER_TENANT_PER_MINUTE,
    publicRequestsPerMinutePerIp: env.RATE_LIMIT_PUBLIC_PER_IP_PER_MINUTE,
    loginFailuresPerAccountAndIp: env.LOGIN_FAILURES_PER_ACCOUNT_AND_IP,
    loginFailuresPerIp: env.LOGIN_FAILURES_PER_IP,
    loginFailuresPerAccount: env.LOGIN_FAILURES_PER_ACCOUNT,
    trpcBatchSize: env.TRPC_MAX_BATCH_SIZE,
    apiKeyDefaultTtlDays: env.API_KEY_DEFAULT_TTL_DAYS,
    tenantRetentionDays: env.TENANT_RETENTION_DAYS,
  },
  expensiveCalls: new FairSemaphore({
    capacity: env.EXPENSIVE_CALLS_PER_REPLICA,
    perKey: env.EXPENSIVE_CALLS_PER_TENANT,
  }),
  now: () => new Date(),
  assignments,
  ...authCachesFor(assignments, metricsRegistry),
  reads: tenantReadsFor(assignments, metricsRegistry),
  streams,
  agent: builtAgentSource(),
};
// The agent's bundle is built now, in the background: heartbeats announce it once it is (they never
// wait for it), and the first install does not wait either.
deps.agent.bundle().then(
  (b) => logger.info({ version: b.version, bytes: b.bytes }, "node agent bundle built"),
  (err: unknown) =>
    logger.warn(
      { err: (err as Error).message },
      "could not build the node agent bundle; built when first asked for",
    ),
);

const app = createApp(deps);
const server = serve({ fetch: app.fetch, port: env.PORT, hostname: env.HOST }, (info) =>
  logger.info({ url: `http://${info.address}:${info.port}` }, "control-api listening"),
);
// Interactive exec and the agents' stream connections: WebSockets through the same routes.
const webSockets = attachWebSockets(server as Server, app);
const metricsServer =
  env.METRICS_PORT === undefined
    ? null
    : serve(
        { fetch: createMetricsApp(deps).fetch, port: env.METRICS_PORT, hostname: env.METRICS_HOST },
        (info) => logger.info({ url: `http://${info.address}:${info.port}/metrics` }, "metrics listening"),
      );

let stopping = false;
async function stop(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, "stopping");
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  // Answers the watches still held, so the server can finish their requests and close; then
  // closes what stays open (kept-alive connections) after a grace period.
  await assignments.stop();
  webSockets.close();
  await streams.bus.stop();
  const http = server as unknown as { closeIdleConnections?(): void; closeAllConnections?(): void };
  http.closeIdleConnections?.();
  await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 10_000))]);
  http.closeAllConnections?.();
  if (metricsServer) await new Promise<void>((resolve) => metricsServer.close(() => resolve()));
  await deps.queues.close();
  await redis.quit();
  await closeDb(db);
  logger.info("stopped");
  process.exit(0);
}
process.on("SIGTERM", () => void stop("SIGTERM"));
process.on("SIGINT", () => void stop("SIGINT"));
