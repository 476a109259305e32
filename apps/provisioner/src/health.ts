import { mountHealth } from "@berth/core/health";
import { ping } from "@berth/db";
import { Hono } from "hono";
import type { Deps } from "./deps";

/** The provisioner's own small server: liveness, readiness (Postgres and Redis) and metrics. */
export function createHealthApp(deps: Deps): Hono {
  const app = new Hono();
  mountHealth(app, {
    checks: { postgres: () => ping(deps.db), redis: () => deps.redis.ping() },
    metrics: deps.metrics,
  });
  app.notFound((c) =>
    c.json(
      {
        error: {
          code: "ROUTE_NOT_FOUND",
          message: `no route for ${c.req.method} ${c.req.path}`,
          requestId: "",
        },
      },
      404,
    ),
  );
  return app;
}
