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

/** Runs readiness checks side by side: `{ ready, checks: { postgres: "ok", redis: "connect ECONNREFUSED …" } }`. */
export async function runChecks(
  checks: Record<string, () => Promise<unknown>>,
): Promise<{ ready: boolean; checks: Record<string, string> }> {
  const results = await Promise.all(
    Object.entries(checks).map(async ([name, check]) => {
      try {
        await check();
        return [name, "ok"] as const;
      } catch (error) {
        return [name, error instanceof Error ? error.message : String(error)] as const;
      }
    }),
  );
  return { ready: results.every(([, r]) => r === "ok"), checks: Object.fromEntries(results) };
}
