import { z } from "zod";

/**
 * What the database package's own entry points read from the environment: the migration CLI and
 * the test harness (which every app's tests share). Apps pass their URLs in; they never come here.
 */
const schema = z.object({
  /** The tenant role (`berth_app`) and the system role (`berth_system`), as the apps connect. */
  DATABASE_URL: z.url().default("postgres://berth_app@127.0.0.1:55432/berth"),
  DATABASE_SYSTEM_URL: z.url().default("postgres://berth_system@127.0.0.1:55432/berth"),
  /** The owner of the schema: migrations, and the test harness creating databases. */
  DATABASE_MIGRATION_URL: z.url().default("postgres://berth@127.0.0.1:55432/berth"),
  REDIS_URL: z.url().default("redis://127.0.0.1:56379"),
  /** Log level of apps running inside tests. */
  TEST_LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("silent"),
});

export type ToolEnv = z.infer<typeof schema>;

export function toolEnv(source: NodeJS.ProcessEnv = process.env): ToolEnv {
  const parsed = schema.safeParse(source);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`);
    throw new Error(`invalid environment:\n${lines.join("\n")}`);
  }
  return parsed.data;
}
