import { timingSafeEqual } from "node:crypto";
import type { Env, Hono } from "hono";
import type { Registry } from "prom-client";
import { runChecks } from "./observability";

/**
 * The routes every Berth server answers: `/healthz` (the process lives), `/readyz` (its
 * dependencies answer: 503 naming the one that does not) and `/metrics` (Prometheus). On a port
 * the public can reach, `/metrics` is served only to requests bearing `metrics.token`, or not at
 * all when there is none (serve it on a private port instead).
 */
export function mountHealth<E extends Env>(
  app: Hono<E>,
  opts: {
    checks: Record<string, () => Promise<unknown>>;
    metrics: Registry;
    /** "open": no credential (a private port); a string: `Authorization: Bearer <it>`; null: not served. */
    metricsAccess?: "open" | string | null;
  },
): void {
  app.get("/healthz", (c) => c.json({ status: "ok" }));
  app.get("/readyz", async (c) => {
    const { ready, checks } = await runChecks(opts.checks);
    return c.json({ status: ready ? "ready" : "not ready", checks }, ready ? 200 : 503);
  });
  const access = opts.metricsAccess ?? "open";
  if (access === null) return;
  const expected = access === "open" ? null : Buffer.from(`Bearer ${access}`);
  app.get("/metrics", async (c) => {
    if (expected) {
      const given = Buffer.from(c.req.header("authorization") ?? "");
      if (given.length !== expected.length || !timingSafeEqual(given, expected))
        return c.json({ error: { code: "UNAUTHENTICATED", message: "metrics need the metrics token" } }, 401);
    }
    return c.text(await opts.metrics.metrics(), 200, { "content-type": opts.metrics.contentType });
  });
}
