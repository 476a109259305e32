import { createLogger, createMetricsRegistry, parseMasterKey } from "@berth/core";
import { closeDb, createDb, ping } from "@berth/db";
import pino from "pino";
import { createAdminServer } from "./admin";
import { parseEnv } from "./env";
import { Gateway } from "./gateway";

/** The gateway process: the control side of the ingress gateway, and the HAProxy it runs. */
const env = parseEnv();
// A line per request: written in 8 KiB batches (one write instead of thousands), at least every 0.5 s.
const destination = pino.destination({ dest: 1, sync: false, minLength: 8192 });
setInterval(() => destination.flush(), 500).unref();
const logger = createLogger("gateway", env.LOG_LEVEL, destination);
const db = createDb(
  { url: env.DATABASE_URL, systemUrl: env.DATABASE_SYSTEM_URL },
  { applicationName: "berth-gateway", max: 2, systemMax: 4 },
);
const metrics = createMetricsRegistry("gateway");
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
    haproxyBin: env.GATEWAY_HAPROXY,
    threads: env.GATEWAY_THREADS,
    runDir: env.GATEWAY_RUN_DIR ?? `/dev/shm/berth-gateway-${env.GATEWAY_ADMIN_PORT}`,
  },
);
const admin = createAdminServer({
  checks: {
    postgres: () => ping(db),
    configuration: async () => {
      if (!gateway.loaded) throw new Error("not loaded yet");
    },
    haproxy: async () => {
      if (!gateway.serving)
        throw new Error("HAProxy is not running (it is started again at the next refresh)");
    },
  },
  metrics: async () => ({ contentType: metrics.contentType, text: await metrics.metrics() }),
}).listen(env.GATEWAY_ADMIN_PORT, env.GATEWAY_ADMIN_HOST);
await gateway.start();
logger.info(
  { http: gateway.httpPort, https: gateway.httpsPort, admin: env.GATEWAY_ADMIN_PORT },
  "gateway running",
);

let stopping = false;
const stop = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, "stopping");
  await gateway.stop();
  await new Promise<void>((resolve) => admin.close(() => resolve()));
  await closeDb(db);
  destination.flushSync();
  process.exit(0);
};
process.on("SIGTERM", () => void stop("SIGTERM"));
process.on("SIGINT", () => void stop("SIGINT"));
