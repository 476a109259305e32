import { createLogger, createMetricsRegistry, parseMasterKey } from "@berth/core";
import { createQueues } from "@berth/core/queues";
import { createRedisClient } from "@berth/core/redis";
import { closeDb, createDb } from "@berth/db";
import { serve } from "@hono/node-server";
import { crashpointFrom } from "./crashpoint";
import type { Deps } from "./deps";
import { parseEnv } from "./env";
import { createHealthApp } from "./health";
import { createEc2Provider, DEFAULT_EC2_INSTANCE_TYPES } from "./providers/ec2";
import { localVmFromEnv } from "./providers/local-vm";
import { createImageResolver } from "./registry/resolver";
import { createWorkers } from "./workers";

const env = parseEnv();
const logger = createLogger("provisioner", env.LOG_LEVEL);
const db = createDb(
  { url: env.DATABASE_URL, systemUrl: env.DATABASE_SYSTEM_URL },
  {
    applicationName: "berth-provisioner",
    max: env.RECONCILE_CONCURRENCY + 6,
  },
);
const redis = createRedisClient(
  { url: env.REDIS_URL, clusterNodes: env.REDIS_CLUSTER_NODES },
  { maxRetriesPerRequest: null, lazyConnect: true },
);
await redis.connect();
const localVm = localVmFromEnv(env, logger);
const deps: Deps = {
  db,
  redis,
  queues: createQueues(redis, env.QUEUE_PREFIX),
  logger,
  metrics: createMetricsRegistry("provisioner"),
  master: parseMasterKey(env.BERTH_MASTER_KEY),
  timings: {
    nodeLeaseMs: env.NODE_LEASE_SECONDS * 1000,
    podEvictionMs: env.POD_EVICTION_SECONDS * 1000,
    deleteGraceMs: env.CLUSTER_DELETE_GRACE_SECONDS * 1000,
    machineJoinTimeoutMs: env.MACHINE_JOIN_TIMEOUT_SECONDS * 1000,
    machineRepairTimeoutMs: env.MACHINE_REPAIR_TIMEOUT_SECONDS * 1000,
    drainTimeoutMs: env.DRAIN_TIMEOUT_SECONDS * 1000,
  },
  scheduleEveryMs: {
    "reconcile.sweep": env.SWEEP_INTERVAL_MS,
    "metrics.rollup": env.METRICS_ROLLUP_INTERVAL_MS,
    "hpa.sync": env.HPA_SYNC_PERIOD_MS,
    "nodes.autoscale": env.NODE_AUTOSCALER_INTERVAL_MS,
    "budgets.evaluate": env.BUDGETS_INTERVAL_MS,
  },
  autoscaling: { tolerance: env.HPA_TOLERANCE, metricsWindowMs: env.HPA_METRICS_WINDOW_SECONDS * 1000 },
  metricsLateMs: env.METRICS_LATE_SECONDS * 1000,
  providers: {
    ...(env.EC2_AMI_ID
      ? {
          ec2: createEc2Provider({
            endpoint: env.EC2_ENDPOINT,
            region: env.AWS_REGION,
            amiId: env.EC2_AMI_ID,
            subnetId: env.EC2_SUBNET_ID,
            securityGroupIds: env.EC2_SECURITY_GROUP_IDS,
            instanceTypes: DEFAULT_EC2_INSTANCE_TYPES,
          }),
        }
      : {}),
    ...(localVm ? { "local-vm": localVm } : {}),
  },
  apiUrl: env.BERTH_API_URL,
  crashpoint: crashpointFrom(env.BERTH_CRASH_AT),
  reconcileConcurrency: env.RECONCILE_CONCURRENCY,
  signingKeyMaxAgeMs: env.SIGNING_KEY_ROTATION_HOURS * 3_600_000,
  jobLocks: { lockMs: env.JOB_LOCK_SECONDS * 1000, stalledCheckMs: env.JOB_STALLED_CHECK_SECONDS * 1000 },
  now: () => new Date(),
  webhooks: { allowLoopback: env.WEBHOOK_ALLOW_LOOPBACK, timeoutMs: env.WEBHOOK_TIMEOUT_MS },
  imageResolver:
    env.REGISTRY_HOST && env.REGISTRY_TOKEN_KEY_FILE
      ? createImageResolver({
          host: env.REGISTRY_HOST,
          url: env.REGISTRY_URL ?? `http://${env.REGISTRY_HOST}`,
          key: env.REGISTRY_TOKEN_KEY_FILE,
          issuer: env.REGISTRY_TOKEN_ISSUER,
          service: env.REGISTRY_SERVICE,
          timeoutMs: env.REGISTRY_RESOLVE_TIMEOUT_MS,
        })
      : null,
};

const workers = createWorkers(deps);
if (env.REGISTRY_HOST && !env.REGISTRY_TOKEN_KEY_FILE)
  logger.warn(
    { registry: env.REGISTRY_HOST },
    "REGISTRY_HOST is set without REGISTRY_TOKEN_KEY_FILE: tags of its images are not pinned to digests",
  );
await workers.start();
const server = serve(
  { fetch: createHealthApp(deps).fetch, port: env.PROVISIONER_PORT, hostname: env.PROVISIONER_HOST },
  (info) =>
    logger.info(
      { url: `http://${info.address}:${info.port}` },
      "provisioner running; health and metrics listening",
    ),
);

let stopping = false;
async function stop(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, "stopping: finishing jobs in progress");
  await workers.stop();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await deps.queues.close();
  await redis.quit();
  await closeDb(db);
  logger.info("stopped");
  process.exit(0);
}
process.on("SIGTERM", () => void stop("SIGTERM"));
process.on("SIGINT", () => void stop("SIGINT"));
