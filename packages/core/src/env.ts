import { resolve } from "node:path";
import { z } from "zod";
import { developmentMasterKey } from "./crypto";
import { clusterPrefixProblem, parseClusterNodes } from "./redis-target";

/**
 * The environment every server process of Berth shares: where Postgres and Redis are, the queue
 * prefix, the master key. Each app's own `env.ts` extends it with its settings.
 */
export const serverEnvShape = {
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  /** The tenant role's connection (row-level security by tenant); see README, Operations. */
  DATABASE_URL: z.url().default("postgres://berth_app@127.0.0.1:55432/berth"),
  /** The system role's connection, for the platform's work across tenants. */
  DATABASE_SYSTEM_URL: z.url().default("postgres://berth_system@127.0.0.1:55432/berth"),
  REDIS_URL: z.url().default("redis://127.0.0.1:56379"),
  /** A Redis Cluster's seed nodes (`host:port,host:port`); set, REDIS_URL is not used. */
  REDIS_CLUSTER_NODES: z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === "") return undefined;
      const nodes = parseClusterNodes(v);
      if (!nodes) ctx.addIssue({ code: "custom", message: "expected host:port,host:port,…" });
      return nodes ?? undefined;
    }),
  /** Starts every Redis key and BullMQ queue; in a Redis Cluster, a hash tag (default `{berth}` there). */
  QUEUE_PREFIX: z
    .string()
    .regex(/^(\{[a-z0-9_-]+\})?[a-z0-9:_-]*$/)
    .min(1)
    .optional(),
  /** 32 bytes, base64. Required, except with BERTH_DEV=1, where a key is kept under BERTH_DATA_DIR. */
  BERTH_MASTER_KEY: z.string().optional(),
  /** Development mode, said explicitly (npm run up does): a missing master key is generated and kept. */
  BERTH_DEV: z
    .enum(["0", "1"])
    .default("0")
    .transform((v) => v === "1"),
  // Resolved when parsed, not when imported: drizzle-kit loads the schema as CommonJS, without
  // import.meta.dirname.
  BERTH_DATA_DIR: z.string().default(() => resolve(import.meta.dirname, "../../../.data")),
};

/** A parsed environment: the master key resolved, the queue prefix chosen (see parseServerEnv). */
export type ParsedServerEnv<T> = Omit<T, "QUEUE_PREFIX" | "BERTH_MASTER_KEY"> & {
  BERTH_MASTER_KEY: string;
  QUEUE_PREFIX: string;
};

/**
 * Parses the environment once at boot; a bad value stops the process with the variable's name.
 * The master key is resolved here (a development key outside production).
 */
export function parseServerEnv<S extends z.ZodObject<typeof serverEnvShape & z.ZodRawShape>>(
  schema: S,
  source: NodeJS.ProcessEnv,
): ParsedServerEnv<z.infer<S>> {
  const parsed = schema.safeParse(source);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`);
    throw new Error(`invalid environment:\n${lines.join("\n")}`);
  }
  const env = parsed.data as z.infer<S> & {
    BERTH_DEV: boolean;
    BERTH_DATA_DIR: string;
    BERTH_MASTER_KEY?: string;
    REDIS_CLUSTER_NODES?: { host: string; port: number }[];
    QUEUE_PREFIX?: string;
  };
  const queuePrefix = env.QUEUE_PREFIX ?? (env.REDIS_CLUSTER_NODES ? "{berth}" : "berth");
  const problem = env.REDIS_CLUSTER_NODES ? clusterPrefixProblem(queuePrefix) : null;
  if (problem) throw new Error(`invalid environment:\n  QUEUE_PREFIX: ${problem}`);
  return {
    ...env,
    QUEUE_PREFIX: queuePrefix,
    BERTH_MASTER_KEY: env.BERTH_MASTER_KEY ?? developmentMasterKey(env.BERTH_DEV, env.BERTH_DATA_DIR),
  };
}
