import { randomBytes } from "node:crypto";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import {
  createLogger,
  createMetricsRegistry,
  DEFAULT_ALLOWED_IMAGE_PREFIXES,
  FairSemaphore,
  generateMasterKey,
  parseMasterKey,
  QUEUE_NAMES,
  type RedisTarget,
} from "@berth/core";
import { createQueues } from "@berth/core/queues";
import { createRedisClient } from "@berth/core/redis";
import { createTestDatabase, type TestDatabase, testLogLevel, testRedisUrl } from "@berth/db/testing";
import { serve } from "@hono/node-server";
import type { Hono } from "hono";
import { API_REDIS_OPTIONS, createApp } from "./app";
import { loadAccessTokens } from "./auth/access-tokens";
import { authCachesFor } from "./auth/authorize";
import type { Deps, Limits } from "./deps";
import type { AppEnv } from "./http/context";
import { attachWebSockets } from "./http/upgrade";
import { createAssignmentHub } from "./push/hub";
import { type AgentSource, builtAgentSource } from "./services/agent-bundle";
import { tenantReadsFor } from "./services/read-cache";
import type { RegistryTokenSettings } from "./services/registry-token";
import { createStreams, type StreamLimits } from "./streams/streams";

export { attachWebSockets } from "./http/upgrade";
export { type AgentBundle, type AgentSource, agentBundle, bundleOf } from "./services/agent-bundle";
export { channelLeasesOf } from "./services/channel-leases";
export type { RegistryTokenSettings } from "./services/registry-token";

/**
 * A real control API for tests: its own database (cloned from the migrated template), real Redis
 * with a queue prefix of its own, served in-process through `app.request()`.
 */
export interface TestApi {
  deps: Deps;
  app: Hono<AppEnv>;
  database: TestDatabase;
  /** `app.request` with JSON in and out. */
  call(
    method: string,
    path: string,
    opts?: { token?: string; body?: unknown; headers?: Record<string, string> },
    // biome-ignore lint/suspicious/noExplicitAny: tests read JSON replies freely; the assertions check them
  ): Promise<{ status: number; body: any; text: string; headers: Headers }>;
  /** Serves the app on a real port of 127.0.0.1, WebSockets included (streams need one). */
  listen(): Promise<{ url: string; close(): Promise<void> }>;
  /** Signs a tenant up and returns a token for its first user. */
  tenant(name: string): Promise<{
    tenantId: string;
    userId: string;
    token: string;
    email: string;
    password: string;
    refreshToken: string;
  }>;
  close(): Promise<void>;
}

export const TEST_PUBLIC_URL = "http://berth.test";
export const TEST_METRICS_TOKEN = "test-metrics-token-0123456789";
export const TEST_PLATFORM_ADMIN_TOKEN = "test-platform-admin-token-0123456789abcdef";

/** Generous limits, so that only tests about limits meet them. */
export const TEST_LIMITS: Limits = {
  requestsPerMinutePerPrincipal: 100_000,
  requestsPerMinutePerTenant: 100_000,
  publicRequestsPerMinutePerIp: 100_000,
  loginFailuresPerAccountAndIp: 5,
  loginFailuresPerIp: 1_000,
  loginFailuresPerAccount: 50,
  trpcBatchSize: 10,
  apiKeyDefaultTtlDays: 90,
  tenantRetentionDays: 30,
};

export async function createTestApi(
  opts: {
    database?: TestDatabase;
    queuePrefix?: string;
    masterKey?: string;
    limits?: Partial<Limits>;
    tokenTtlSeconds?: number;
    /** Another Redis (e.g. one that is down). */
    redisUrl?: string;
    /** A Redis Cluster's seed nodes (then `queuePrefix` must be a hash tag). */
    redisClusterNodes?: RedisTarget["clusterNodes"];
    /** Where the API's log lines go, at level info (default: stdout at TEST_LOG_LEVEL). */
    logTo?: { write(line: string): void };
    allowedImagePrefixes?: readonly string[];
    /** How often the assignment hub checks its LISTEN connection (default 1 s in tests). */
    probeIntervalMs?: number;
    streamLimits?: Partial<StreamLimits>;
    webhookAllowLoopback?: boolean;
    /** The node agent served (default: this source's bundle, built when first asked for). */
    agent?: AgentSource;
    /** Where local-vm machines' consoles are read (a local-vm provider's dir). */
    localVmDir?: string;
    /** The API's clock (default: the real one). */
    now?: () => Date;
    /** The image registry's token service (default: none, GET /v1/registry/token answers 404). */
    registry?: RegistryTokenSettings;
    /** Berth's registry as image names give it (REGISTRY_HOST; default: none). */
    registryHost?: string;
  } = {},
): Promise<TestApi> {
  const database = opts.database ?? (await createTestDatabase());
  const redis = createRedisClient(
    { url: opts.redisUrl ?? testRedisUrl(), clusterNodes: opts.redisClusterNodes },
    { ...API_REDIS_OPTIONS, lazyConnect: true },
  );
  redis.on("error", () => {}); // a test of an outage expects them; requests see the failures
  await redis.connect().catch((error: unknown) => {
    if (!opts.redisUrl) throw error;
  });
  const queues = createQueues(redis, opts.queuePrefix ?? `test-${randomBytes(5).toString("hex")}`);
  const master = parseMasterKey(opts.masterKey ?? generateMasterKey());
  const logger = opts.logTo
    ? createLogger("control-api", "info", opts.logTo)
    : createLogger("control-api", testLogLevel());
  const tokens = await loadAccessTokens(database.db, master, {
    issuer: TEST_PUBLIC_URL,
    ttlSeconds: opts.tokenTtlSeconds ?? 900,
  });
  const assignments = createAssignmentHub({
    url: database.systemUrl,
    logger,
    probeIntervalMs: opts.probeIntervalMs ?? 1_000,
  });
  await assignments.start();
  const metricsRegistry = createMetricsRegistry("control-api");
  const streams = createStreams({ redis, prefix: queues.prefix, logger, limits: opts.streamLimits });
  await streams.bus.start().catch((error: unknown) => {
    if (!opts.redisUrl) throw error;
  });
  const deps: Deps = {
    db: database.db,
    redis,
    queues,
    logger,
    metrics: metricsRegistry,
    master,
    tokens,
    publicUrl: TEST_PUBLIC_URL,
    localVmDir: opts.localVmDir ?? "/nonexistent/berth-test-vms",
    bodyLimitBytes: 64 * 1024,
    limits: { ...TEST_LIMITS, ...opts.limits },
    // Tests say where a request comes from with X-Forwarded-For.
    trustProxy: true,
    refreshTokenTtlSeconds: 3600,
    metricsToken: TEST_METRICS_TOKEN,
    platformAdminToken: TEST_PLATFORM_ADMIN_TOKEN,
    expensiveCalls: new FairSemaphore({ capacity: 8, perKey: 2 }),
    allowedImagePrefixes: opts.allowedImagePrefixes ?? DEFAULT_ALLOWED_IMAGE_PREFIXES,
    // Tests' webhook receivers listen on 127.0.0.1.
    webhookAllowLoopback: opts.webhookAllowLoopback ?? true,
    now: opts.now ?? (() => new Date()),
    // Every reply of every test is checked against its operation's documented schema.
    checkReplies: true,
    assignments,
    ...authCachesFor(assignments, metricsRegistry),
    reads: tenantReadsFor(assignments, metricsRegistry),
    streams,
    agent: opts.agent ?? builtAgentSource(),
    registry: opts.registry ?? null,
    registryHost: opts.registryHost ?? null,
  };
  const app = createApp(deps);
  const call: TestApi["call"] = async (method, path, o = {}) => {
    const headers: Record<string, string> = { ...(o.headers ?? {}) };
    if (o.token) headers.authorization = `Bearer ${o.token}`;
    let body: string | undefined;
    if (o.body !== undefined) {
      body = typeof o.body === "string" ? o.body : JSON.stringify(o.body);
      headers["content-type"] ??= "application/json";
    }
    const res = await app.request(path, { method, headers, ...(body !== undefined ? { body } : {}) });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {}
    return { status: res.status, body: parsed, text, headers: res.headers };
  };
  return {
    deps,
    app,
    database,
    call,
    async tenant(name) {
      const email = `${name}-${randomBytes(3).toString("hex")}@example.test`;
      const password = "correct horse battery staple";
      const s = await call("POST", "/v1/signup", { body: { tenantName: name, email, password } });
      if (s.status !== 201) throw new Error(`signup failed: ${s.text}`);
      const t = await call("POST", "/v1/auth/token", { body: { email, password } });
      if (t.status !== 200) throw new Error(`token failed: ${t.text}`);
      return {
        tenantId: s.body.tenant.id,
        userId: s.body.user.id,
        token: t.body.accessToken,
        email,
        password,
        refreshToken: t.body.refreshToken,
      };
    },
    async listen() {
      const server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }) as Server;
      await new Promise<void>((ok) => server.once("listening", () => ok()));
      const sockets = attachWebSockets(server, app);
      return {
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        close: () =>
          new Promise<void>((ok) => {
            sockets.close();
            server.close(() => ok());
            server.closeAllConnections();
          }),
      };
    },
    async close() {
      await streams.bus.stop();
      await assignments.stop();
      // Every queue of the catalog: the provisioner's schedulers (metrics, autoscale, …) leave none behind.
      for (const name of QUEUE_NAMES) await queues.get(name).obliterate({ force: true });
      await queues.close();
      await redis.quit();
      if (!opts.database) await database.drop();
    },
  };
}
export { foregroundCalls } from "./http/foreground";
