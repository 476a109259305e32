import type { Env, Hono } from "hono";
import type { Registry } from "prom-client";
import { runChecks } from "./observability";

/**
 * The routes every Berth server answers: `/healthz` (the process lives), `/readyz` (its
 * dependencies answer: 503 naming the one that does not) and `/metrics` (Prometheus).
 */
export function mountHealth<E extends Env>(
  app: Hono<E>,
  opts: { checks: Record<string, () => Promise<unknown>>; metrics: Registry },
): void {
  app.get("/healthz", (c) => c.json({ status: "ok" }));
  app.get("/readyz", async (c) => {
    const { ready, checks } = await runChecks(opts.checks);
    return c.json({ status: ready ? "ready" : "not ready", checks }, ready ? 200 : 503);
  });
  app.get("/metrics", async (c) =>
    c.text(await opts.metrics.metrics(), 200, { "content-type": opts.metrics.contentType }),
  );
}
