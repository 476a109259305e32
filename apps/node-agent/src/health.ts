import { Hono } from "hono";
import type { Registry } from "prom-client";
import type { Agent } from "./agent";

/** Liveness; readiness = joined and synced recently; Prometheus metrics. */
export function createHealthApp(agent: Agent, metrics: Registry): Hono {
  const app = new Hono();
  app.get("/healthz", (c) => c.json({ status: "ok" }));
  app.get("/readyz", (c) => {
    const s = agent.status();
    const ready = s.nodeId !== null && s.lastSyncAt !== null && Date.now() - s.lastSyncAt < 30_000;
    return c.json({ status: ready ? "ready" : "not ready", ...s }, ready ? 200 : 503);
  });
  app.get("/metrics", async (c) =>
    c.text(await metrics.metrics(), 200, { "content-type": metrics.contentType }),
  );
  return app;
}
