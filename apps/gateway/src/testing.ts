import { mkdtemp } from "node:fs/promises";
import { createServer } from "node:net";
import type { MasterKey } from "@berth/core";
import { createLogger, createMetricsRegistry } from "@berth/core";
import type { Db } from "@berth/db";
import { Gateway, type GatewayOptions } from "./gateway";

/** A port nothing listens on now (the system's pick). */
export function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, host, () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** A gateway on loopback with free ports (LoadBalancer ports from `lbPorts`), refreshing fast. */
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
      httpPort: await freePort(),
      httpsPort: await freePort(),
      publicIp: "127.0.0.1",
      refreshMs: 200,
      statsFlushMs: 500,
      connectTimeoutMs: 1000,
      accessLog: true,
      haproxyBin: "haproxy",
      threads: 1,
      runDir: await mkdtemp("/dev/shm/berth-gateway-test-"),
      ...opts,
    },
  );
  await gateway.start();
  return gateway;
}
export type { Gateway } from "./gateway";
