import { BerthError } from "@berth/core";
import { mountHealth } from "@berth/core/health";
import { ping } from "@berth/db";
import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { Deps } from "./deps";
import { mountAdmin } from "./http/admin";
import type { AppEnv } from "./http/context";
import { docsPage } from "./http/docs";
import { envelope, toBerthError } from "./http/errors";
import { observe } from "./http/observability";
import { type OpenApiDocument, openApiDocument } from "./http/openapi";
import { requestMetaOf } from "./http/request-meta";
import { mountRest } from "./http/rest";
import { appRouter } from "./trpc/router";

/**
 * The API's Redis client fails fast: while Redis is unreachable a command fails at once (no offline
 * queue, one retry) and a hung one after 2 s, so requests answer 503 with Retry-After instead of
 * waiting ever longer for a reconnection (BullMQ's advice for producers in request handlers).
 */
export const API_REDIS_OPTIONS = {
  maxRetriesPerRequest: 1,
  enableOfflineQueue: false,
  commandTimeout: 2_000,
} as const;

/** Health and metrics alone, without credentials: for a private port (METRICS_PORT). */
export function createMetricsApp(deps: Deps): Hono {
  const app = new Hono();
  mountHealth(app, {
    checks: { postgres: () => ping(deps.db), redis: () => deps.redis.ping() },
    metrics: deps.metrics,
  });
  return app;
}

/** The HTTP application: no I/O happens until a request arrives. */
export function createApp(deps: Deps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use(observe(deps.logger, deps.metrics));
  const limitBody = bodyLimit({
    maxSize: deps.bodyLimitBytes,
    onError: () => {
      throw new BerthError("PAYLOAD_TOO_LARGE", `request bodies are limited to ${deps.bodyLimitBytes} bytes`);
    },
  });
  // A GET's body is never read (its input is its URL); looking for one would build the whole
  // fetch Request of every read (the adapter's lightweight one suffices), a cost of the hot path.
  // The REST routes read and bound their bodies themselves (http/body.ts), without one either.
  app.use((c, next) =>
    c.req.method === "GET" || c.req.method === "HEAD" || c.req.path.startsWith("/v1/")
      ? next()
      : limitBody(c, next),
  );

  mountHealth(app, {
    checks: { postgres: () => ping(deps.db), redis: () => deps.redis.ping() },
    metrics: deps.metrics,
    // The public port serves metrics only with the token; METRICS_PORT serves them privately.
    metricsAccess: deps.metricsToken,
  });
  app.get("/.well-known/jwks.json", async (c) => c.json(await deps.tokens.jwks()));
  // Built once, on the first request for either.
  let document: OpenApiDocument | undefined;
  let docs: string | undefined;
  const theDocument = (): OpenApiDocument => {
    document ??= openApiDocument(deps.publicUrl);
    return document;
  };
  app.get("/v1/openapi.json", (c) => c.json(theDocument()));
  app.get("/docs", (c) => {
    docs ??= docsPage(theDocument());
    return c.html(docs);
  });

  mountRest(app, deps);
  mountAdmin(app, deps);

  app.all("/trpc/*", (c) =>
    fetchRequestHandler({
      endpoint: "/trpc",
      req: c.req.raw,
      router: appRouter,
      // Each call of a batch is authenticated, rate-limited and audited on its own; a batch holds at most this many.
      maxBatchSize: deps.limits.trpcBatchSize,
      createContext: () => ({
        deps,
        requestId: c.get("requestId"),
        metaFor: (scratch) => requestMetaOf(c, deps, scratch),
      }),
    }),
  );

  app.notFound((c) => {
    const { status, body } = envelope(
      new BerthError("ROUTE_NOT_FOUND", `no route for ${c.req.method} ${c.req.path}`),
      c.get("requestId"),
    );
    return c.json(body, status as 404);
  });
  app.onError((err, c) => {
    const error = toBerthError(err);
    const requestId = c.get("requestId");
    if (error.code === "INTERNAL") deps.logger.error({ err, requestId }, "unhandled error");
    else if (error.code === "UNAVAILABLE")
      deps.logger.warn({ err: error.cause ?? err, requestId }, "a backing service failed the request");
    const { status, body } = envelope(error, requestId);
    if (error.details.retryAfterSeconds) c.header("retry-after", String(error.details.retryAfterSeconds));
    return c.json(body, status as 400);
  });
  return app;
}
