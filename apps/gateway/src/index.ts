import cluster from "node:cluster";
import { createLogger, createMetricsRegistry, parseMasterKey } from "@berth/core";
import { closeDb, createDb, ping } from "@berth/db";
import { AggregatorRegistry } from "prom-client";
import { createAdminServer } from "./admin";
import { parseEnv } from "./env";
import { Gateway } from "./gateway";

/**
 * The gateway process. With GATEWAY_WORKERS > 1 (node:cluster) the primary only forks the workers,
 * restarts one that dies, and serves the admin port (metrics summed over the workers); each worker
 * is a whole gateway sharing the listening sockets (the kernel and the primary hand connections
 * round robin), reading the configuration and writing status itself (idempotent writes).
 */
const env = parseEnv();
const logger = createLogger("gateway", env.LOG_LEVEL);
const workers = env.GATEWAY_WORKERS;

if (workers > 1 && cluster.isPrimary) {
  const loaded = new Set<number>();
  let stopping = false;
  cluster.on("message", (worker, message: { gatewayLoaded?: boolean }) => {
    if (message?.gatewayLoaded) loaded.add(worker.id);
  });
  cluster.on("exit", (worker, code, signal) => {
    loaded.delete(worker.id);
    if (stopping) return;
    logger.error({ worker: worker.id, code, signal }, "gateway worker exited; starting another");
    cluster.fork();
  });
  for (let i = 0; i < workers; i++) cluster.fork();
  const aggregator = new AggregatorRegistry();
  const db = createDb(
    { url: env.DATABASE_URL, systemUrl: env.DATABASE_SYSTEM_URL },
    { max: 1, systemMax: 1 },
  );
  const admin = createAdminServer({
    checks: {
      postgres: () => ping(db),
      workers: async () => {
        if (loaded.size < workers) throw new Error(`${loaded.size} of ${workers} workers loaded`);
      },
    },
    metrics: async () => ({ contentType: aggregator.contentType, text: await aggregator.clusterMetrics() }),
  });
  admin.listen(env.GATEWAY_ADMIN_PORT, env.GATEWAY_ADMIN_HOST);
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "stopping the workers");
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill("SIGTERM");
    const done = () => {
      if (Object.keys(cluster.workers ?? {}).length > 0) return void setTimeout(done, 50);
      admin.close();
      void closeDb(db).then(() => process.exit(0));
    };
    done();
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
} else {
  const db = createDb(
    { url: env.DATABASE_URL, systemUrl: env.DATABASE_SYSTEM_URL },
    { applicationName: "berth-gateway", max: 2, systemMax: 4 },
  );
  const metrics = createMetricsRegistry("gateway");
  // In cluster mode the primary asks each worker for this registry.
  if (cluster.isWorker) AggregatorRegistry.setRegistries([metrics]);
  const gateway = new Gateway(
    { db, master: parseMasterKey(env.BERTH_MASTER_KEY), logger, metrics, now: () => new Date() },
    {
      host: env.GATEWAY_HOST,
      httpPort: env.GATEWAY_HTTP_PORT,
      httpsPort: env.GATEWAY_HTTPS_PORT,
      publicIp: env.GATEWAY_PUBLIC_IP,
      lbPorts: env.GATEWAY_LB_PORT_RANGE,
      refreshMs: env.GATEWAY_REFRESH_MS,
      statsFlushMs: env.GATEWAY_STATS_FLUSH_MS,
      connectTimeoutMs: env.GATEWAY_CONNECT_TIMEOUT_MS,
      accessLog: env.GATEWAY_ACCESS_LOG,
    },
  );
  await gateway.start();
  if (cluster.isWorker) {
    const announce = setInterval(() => {
      if (!gateway.loaded) return;
      process.send?.({ gatewayLoaded: true });
      clearInterval(announce);
    }, 100);
  }
  const admin = cluster.isWorker
    ? undefined
    : createAdminServer({
        checks: {
          postgres: () => ping(db),
          configuration: async () => {
            if (!gateway.loaded) throw new Error("not loaded yet");
          },
        },
        metrics: async () => ({ contentType: metrics.contentType, text: await metrics.metrics() }),
      }).listen(env.GATEWAY_ADMIN_PORT, env.GATEWAY_ADMIN_HOST);
  logger.info(
    {
      http: gateway.httpPort,
      https: gateway.httpsPort,
      admin: env.GATEWAY_ADMIN_PORT,
      worker: cluster.worker?.id,
    },
    "gateway running",
  );

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "stopping");
    await gateway.stop();
    await new Promise<void>((resolve) => (admin ? admin.close(() => resolve()) : resolve()));
    await closeDb(db);
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
}
