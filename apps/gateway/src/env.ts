import { parseServerEnv, serverEnvShape } from "@berth/core";
import { z } from "zod";

const port = z.coerce.number().int().min(0).max(65535);

const schema = z.object({
  ...serverEnvShape,
  /** Where the gateway listens for tenants' traffic (HTTP, HTTPS and LoadBalancer ports). */
  GATEWAY_HOST: z.string().default("0.0.0.0"),
  GATEWAY_HTTP_PORT: port.default(80),
  GATEWAY_HTTPS_PORT: port.default(443),
  /** The address clients reach the gateway at, written in Ingresses' and Services' status. */
  GATEWAY_PUBLIC_IP: z.ipv4().default("127.0.0.1"),
  /** `/healthz`, `/readyz` and `/metrics`, on a private port. */
  GATEWAY_ADMIN_HOST: z.string().default("127.0.0.1"),
  GATEWAY_ADMIN_PORT: port.default(9480),
  /** TCP ports given to `type: LoadBalancer` Service ports, `min-max`. */
  GATEWAY_LB_PORT_RANGE: z
    .string()
    .regex(/^\d{1,5}-\d{1,5}$/, "must be min-max, e.g. 40000-40999")
    .default("40000-40999")
    .transform((v) => {
      const [min, max] = v.split("-").map(Number) as [number, number];
      return { min, max };
    })
    .refine((r) => r.min >= 1 && r.max <= 65535 && r.min <= r.max, "must be a range of ports, min ≤ max"),
  /** How often the configuration is read from Postgres. */
  GATEWAY_REFRESH_MS: z.coerce.number().int().min(100).max(60_000).default(1000),
  /** How often per-route request counts are added to Postgres. */
  GATEWAY_STATS_FLUSH_MS: z.coerce.number().int().min(100).max(600_000).default(5000),
  GATEWAY_CONNECT_TIMEOUT_MS: z.coerce.number().int().min(50).max(60_000).default(2000),
  /** One pino line per request (tenant, cluster, ingress, host, path, status, bytes, duration). */
  GATEWAY_ACCESS_LOG: z
    .enum(["true", "false"])
    .default("true")
    .transform((v) => v === "true"),
  /** HAProxy's threads serving the traffic (its `nbthread`). */
  GATEWAY_THREADS: z.coerce.number().int().min(1).max(64).default(2),
  /** HAProxy's executable. */
  GATEWAY_HAPROXY: z.string().min(1).default("haproxy"),
  /**
   * Where HAProxy's configuration, admin socket and the tenants' certificates and keys live while
   * served: memory-backed, mode 0700, removed on stop. Default `/dev/shm/berth-gateway-<admin port>`.
   */
  GATEWAY_RUN_DIR: z.string().min(1).optional(),
});
export type Env = ReturnType<typeof parseEnv>;

export const parseEnv = (source: NodeJS.ProcessEnv = process.env) => parseServerEnv(schema, source);
