import { runChecks } from "@berth/core";
import { ping } from "@berth/db";
import { Hono } from "hono";
import type { Deps } from "./deps";

/** The provisioner's own small server: liveness, readiness (Postgres and Redis) and metrics. */
export function createHealthApp(deps: Deps): Hono {
  const app = new Hono();
  app.get("/healthz", (c) => c.json({ status: "ok" }));
  app.get("/readyz", async (c) => {
    const { ready, checks } = await runChecks({
      postgres: () => ping(deps.db),
      redis: () => deps.redis.ping(),
    });
    return c.json({ status: ready ? "ready" : "not ready", checks }, ready ? 200 : 503);
  });
  app.get("/metrics", async (c) =>
    c.text(await deps.metrics.metrics(), 200, { "content-type": deps.metrics.contentType }),
  );
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
