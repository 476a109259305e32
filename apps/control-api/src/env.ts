import { resolve } from "node:path";
import {
  DEFAULT_ALLOWED_IMAGE_PREFIXES,
  imagePrefixProblem,
  type ParsedServerEnv,
  parseServerEnv,
  registryHostProblem,
  serverEnvShape,
} from "@berth/core";
import { registrySigningKeyFile } from "@berth/registry/env";
import { z } from "zod";

const registryHost = z.string().superRefine((host, ctx) => {
  const problem = registryHostProblem(host);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});

const schema = z.object({
  ...serverEnvShape,
  PORT: z.coerce.number().int().min(1).max(65535).default(8080),
  HOST: z.string().default("127.0.0.1"),
  /** The issuer claim of every token, and the public URL nodes use to reach the API. */
  PUBLIC_URL: z.url().optional(),
  /** Where the provisioner's local-vm provider keeps its VMs (the same LOCAL_VM_DIR): console output is read there. */
  LOCAL_VM_DIR: z
    .string()
    .min(1)
    .default(resolve(import.meta.dirname, "../../../.data/vms")),
  /** Access tokens are short-lived: at most 15 minutes. */
  ACCESS_TOKEN_TTL_SECONDS: z.coerce.number().int().min(60).max(900).default(900),
  REFRESH_TOKEN_TTL_SECONDS: z.coerce
    .number()
    .int()
    .min(300)
    .max(90 * 86400)
    .default(7 * 86400),
  /** Behind a reverse proxy that sets X-Forwarded-For/-Proto: take the client's address from it. */
  TRUST_PROXY: z
    .enum(["true", "false"])
    .default("false")
    .transform((v) => v === "true"),
  RATE_LIMIT_PER_PRINCIPAL_PER_MINUTE: z.coerce.number().int().min(1).default(600),
  RATE_LIMIT_PER_TENANT_PER_MINUTE: z.coerce.number().int().min(1).default(3000),
  RATE_LIMIT_PUBLIC_PER_IP_PER_MINUTE: z.coerce.number().int().min(1).default(120),
  LOGIN_FAILURES_PER_ACCOUNT_AND_IP: z.coerce.number().int().min(1).default(5),
  LOGIN_FAILURES_PER_IP: z.coerce.number().int().min(1).default(100),
  LOGIN_FAILURES_PER_ACCOUNT: z.coerce.number().int().min(1).default(50),
  /** Large lists (over 100 rows) running at once in one replica: in all, and of one tenant. */
  EXPENSIVE_CALLS_PER_REPLICA: z.coerce.number().int().min(1).max(1000).default(16),
  EXPENSIVE_CALLS_PER_TENANT: z.coerce.number().int().min(1).max(100).default(1),
  TRPC_MAX_BATCH_SIZE: z.coerce.number().int().min(1).max(100).default(10),
  API_KEY_DEFAULT_TTL_DAYS: z.coerce.number().int().min(1).max(3650).default(90),
  /** A closed tenant's data is erased this many days after its closure. */
  TENANT_RETENTION_DAYS: z.coerce.number().int().min(0).max(3650).default(30),
  /** A private listener for /metrics (and health) without credentials, e.g. 9464; off when unset. */
  METRICS_PORT: z.coerce.number().int().min(1).max(65535).optional(),
  METRICS_HOST: z.string().default("127.0.0.1"),
  /** When set, /metrics on the public port answers requests bearing it (Prometheus `authorization`). */
  METRICS_TOKEN: z.string().min(16).optional(),
  /** The platform operator's token for /admin/v1 (price books); the admin routes exist only when it is set. */
  PLATFORM_ADMIN_TOKEN: z.string().min(32).optional(),
  BODY_LIMIT_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(10 * 1024 * 1024)
    .default(256 * 1024),
  /** The platform's apps domain: tenant T's Ingresses may use `*.<T's id as a label>.<this>` (wildcards nowhere else). */
  BERTH_APPS_DOMAIN: z
    .string()
    .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+$/, "must be a DNS name")
    .default("apps.berth.localhost"),
  /** Webhook endpoints may be http://127.0.0.1… (tests, local development); never in production. */
  WEBHOOK_ALLOW_LOOPBACK: z
    .enum(["true", "false"])
    .default("false")
    .transform((v) => v === "true"),
  /** Check every JSON reply against its documented schema (tests do; it costs time in production). */
  CHECK_REPLIES: z
    .enum(["true", "false"])
    .default("false")
    .transform((v) => v === "true"),
  /** Logs and exec: the node must start a stream within this, else 504. */
  STREAM_START_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(120).default(10),
  /** Log and exec streams one tenant may have open at once (over every replica). */
  STREAMS_PER_TENANT: z.coerce.number().int().min(1).max(1000).default(10),
  /** The most one log request returns, in bytes (follow included). */
  LOG_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(2 ** 40)
    .default(16 * 1024 * 1024),
  /** A non-interactive exec's default and longest run, and the stdout/stderr bytes it returns. */
  EXEC_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(3600).default(30),
  EXEC_MAX_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(86_400).default(300),
  EXEC_MAX_OUTPUT_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(64 * 1024 * 1024)
    .default(1024 * 1024),
  /** An interactive exec with no traffic for this long is closed. */
  EXEC_IDLE_TIMEOUT_SECONDS: z.coerce.number().int().min(10).max(86_400).default(1800),
  /** Image prefixes pods may use unless their tenant has its own list: comma-separated, e.g. `localhost/,ghcr.io/acme/`. */
  ALLOWED_IMAGE_PREFIXES: z
    .string()
    .default(DEFAULT_ALLOWED_IMAGE_PREFIXES.join(","))
    .transform((v) =>
      v
        .split(",")
        .map((x) => x.trim())
        .filter(Boolean),
    )
    .superRefine((list, ctx) => {
      for (const p of list) {
        const problem = imagePrefixProblem(p);
        if (problem) ctx.addIssue({ code: "custom", message: `${JSON.stringify(p)}: ${problem}` });
      }
    }),
  /**
   * The image registry's token service: the EC P-256 private key (PEM file) whose certificate is the
   * registry's `auth.token.rootcertbundle`. Unset: GET /v1/registry/token answers 404.
   */
  REGISTRY_TOKEN_KEY_FILE: registrySigningKeyFile,
  /**
   * Berth's registry as image names give it (`127.0.0.1:55000`, `registry.berth.example`): its
   * images in the tenant's own namespace and in `library/` are allowed whatever the image prefixes
   * say, another tenant's are refused; nodes get their credential for it. Unset: no such rule.
   */
  REGISTRY_HOST: registryHost.optional(),
  /** The registry's `auth.token.service` and `auth.token.issuer`. */
  REGISTRY_SERVICE: z.string().min(1).max(255).default("berth-registry"),
  REGISTRY_TOKEN_ISSUER: z.string().min(1).max(255).default("berth"),
  /** Registry tokens are short-lived: at most 5 minutes. */
  REGISTRY_TOKEN_TTL_SECONDS: z.coerce.number().int().min(30).max(300).default(300),
});

export type Env = ParsedServerEnv<z.infer<typeof schema>> & { PUBLIC_URL: string };

/** Parses the environment once at boot; a bad value stops the process with the variable's name. */
export function parseEnv(source: NodeJS.ProcessEnv = process.env): Env {
  const env = parseServerEnv(schema, source);
  return { ...env, PUBLIC_URL: env.PUBLIC_URL ?? `http://${env.HOST}:${env.PORT}` };
}

/** Parses the environment once at boot; a bad value stops the process with the variable's name. */
