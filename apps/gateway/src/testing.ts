import type { MasterKey } from "@berth/core";
import { createLogger, createMetricsRegistry } from "@berth/core";
import type { Db } from "@berth/db";
import { Gateway, type GatewayOptions } from "./gateway";

/** A gateway on loopback with ports the system picks (LoadBalancer ports from `lbPorts`), refreshing fast. */
export async function startTestGateway(
  db: Db,
  master: MasterKey,
  opts: Partial<GatewayOptions> & { lbPorts: { min: number; max: number }; logLevel?: string },
): Promise<Gateway> {
  const gateway = new Gateway(
    {
      db,
      master,
      logger: createLogger("gateway", opts.logLevel ?? "silent"),
      metrics: createMetricsRegistry("gateway"),
      now: () => new Date(),
    },
    {
      host: "127.0.0.1",
      httpPort: 0,
      httpsPort: 0,
      publicIp: "127.0.0.1",
      refreshMs: 200,
      statsFlushMs: 500,
      connectTimeoutMs: 1000,
      accessLog: true,
      ...opts,
    },
  );
  await gateway.start();
  return gateway;
}
export type { Gateway } from "./gateway";
