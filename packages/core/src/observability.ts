import { type Logger, pino } from "pino";
import { collectDefaultMetrics, Registry } from "prom-client";

export type { Logger } from "pino";

/** Structured JSON logs; `service` names the app in every line. */
export function createLogger(service: string, level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service },
      redact: {
        paths: ["req.headers.authorization", "*.password", "*.token", "*.accessToken"],
        censor: "[redacted]",
      },
    },
    destination,
  );
}

/** A Prometheus registry of the process's own (no global default registry), with Node's defaults. */
export function createMetricsRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  return registry;
}

/** How long a readiness check may take before it counts as failed. */
export const CHECK_TIMEOUT_MS = 2_000;

/**
 * Runs readiness checks side by side: `{ ready, checks: { postgres: "ok", redis: "connect ECONNREFUSED …" } }`.
 * A check that does not answer within `timeoutMs` fails: a client that waits for its server to come
 * back (the provisioner's Redis connection queues commands until it reconnects) would otherwise hold
 * `/readyz` open for as long as the outage lasts, where a probe wants a prompt "not ready".
 */
export async function runChecks(
  checks: Record<string, () => Promise<unknown>>,
  timeoutMs = CHECK_TIMEOUT_MS,
): Promise<{ ready: boolean; checks: Record<string, string> }> {
  const results = await Promise.all(
    Object.entries(checks).map(async ([name, check]) => {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      });
      try {
        await Promise.race([check(), late]);
        return [name, "ok"] as const;
      } catch (error) {
        return [name, error instanceof Error ? error.message : String(error)] as const;
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  return { ready: results.every(([, r]) => r === "ok"), checks: Object.fromEntries(results) };
}
