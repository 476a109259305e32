import { randomUUID } from "node:crypto";
import type { Logger } from "@berth/core";
import type { MiddlewareHandler } from "hono";
import { routePath } from "hono/route";
import { Counter, Histogram, type Registry } from "prom-client";
import type { AppEnv } from "./context";

const REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;

/** Request id (taken from X-Request-Id when well-formed), one structured log line per request, RED metrics. */
export function observe(logger: Logger, registry: Registry): MiddlewareHandler<AppEnv> {
  const requests = new Counter({
    name: "http_requests_total",
    help: "HTTP requests by route and status",
    labelNames: ["method", "route", "status"],
    registers: [registry],
  });
  const duration = new Histogram({
    name: "http_request_duration_seconds",
    help: "HTTP request latency by route",
    labelNames: ["method", "route"],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  return async (c, next) => {
    const given = c.req.header("x-request-id");
    const requestId = given && REQUEST_ID.test(given) ? given : randomUUID();
    c.set("requestId", requestId);
    c.header("x-request-id", requestId);
    const started = performance.now();
    await next();
    const seconds = (performance.now() - started) / 1000;
    const route = c.req.path.startsWith("/trpc/") ? "/trpc/*" : routePath(c) || "unmatched";
    requests.inc({ method: c.req.method, route, status: String(c.res.status) });
    duration.observe({ method: c.req.method, route }, seconds);
    if (route === "/healthz" || route === "/readyz" || route === "/metrics") return;
    logger.info(
      {
        requestId,
        method: c.req.method,
        // Bounded: a client chooses the path (a tRPC batch names every procedure in it).
        path: c.req.path.length > 256 ? `${c.req.path.slice(0, 256)}…` : c.req.path,
        route,
        status: c.res.status,
        ms: Math.round(seconds * 1000),
      },
      "request",
    );
  };
}
