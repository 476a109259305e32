import { createHash, randomBytes } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { SQL } from "drizzle-orm";
import postgres from "postgres";
import { closeDb, createDb, type Db, withSystem } from "./client";
import { toolEnv } from "./env";
import { MIGRATIONS_FOLDER, runMigrations } from "./migrate";

/**
 * Test helpers: each test file gets its own database, cloned in milliseconds from a template that
 * has every migration applied. The template's name carries a hash of the migrations, so it is built
 * once per change of schema and reused by every later run.
 */
export function testServerUrl(): string {
  return toolEnv().DATABASE_MIGRATION_URL;
}

function templateName(): string {
  const hash = createHash("sha256");
  for (const file of readdirSync(MIGRATIONS_FOLDER, { recursive: true }).map(String).sort()) {
    if (file.endsWith(".sql") || file.endsWith(".json"))
      hash.update(file).update(readFileSync(join(MIGRATIONS_FOLDER, file)));
  }
  return `berth_tpl_${hash.digest("hex").slice(0, 12)}`;
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** Builds the migrated template if it is missing. Called once per test run (vitest globalSetup). */
export async function ensureTemplate(): Promise<string> {
  const name = templateName();
  const admin = postgres(testServerUrl(), { max: 1, onnotice: () => {} });
  try {
    await admin`select pg_advisory_lock(hashtext('berth:test-template'))`;
    const [row] = await admin`select 1 as ok from pg_database where datname = ${name}`;
    if (!row) {
      const building = `${name}_building`;
      await admin.unsafe(`drop database if exists "${building}" with (force)`);
      await admin.unsafe(`create database "${building}"`);
      await runMigrations(withDatabase(testServerUrl(), building));
      await admin.unsafe(`alter database "${building}" rename to "${name}"`);
    }
    // Templates of other schemas are of no use once nobody has built one for a day (another
    // checkout of another branch may still be using its own, so recent ones stay).
    await admin.unsafe(`comment on database "${name}" is '${Date.now()}'`);
    const stale = await admin`
      select datname from pg_database d
      where datname like 'berth_tpl_%' and datname <> ${name}
        and coalesce(shobj_description(d.oid, 'pg_database'), '0')::bigint < ${Date.now() - 86_400_000}`;
    for (const { datname } of stale) await admin.unsafe(`drop database if exists "${datname}" with (force)`);
    await admin`select pg_advisory_unlock(hashtext('berth:test-template'))`;
    return name;
  } finally {
    await admin.end({ timeout: 5 });
  }
}

export interface TestDatabase {
  readonly name: string;
  /** The tenant role's URL of this database (the apps' DATABASE_URL). */
  readonly url: string;
  /** The system role's URL (DATABASE_SYSTEM_URL). */
  readonly systemUrl: string;
  /** The owner's URL (DATABASE_MIGRATION_URL). */
  readonly migrationUrl: string;
  readonly db: Db;
  drop(): Promise<void>;
}

/** A fresh, migrated database of this test's own; `drop()` it in afterAll. */
export async function createTestDatabase(
  opts: { poolSize?: number; onQuery?: (sql: string) => void } = {},
): Promise<TestDatabase> {
  const template = templateName();
  const name = `berth_test_${randomBytes(6).toString("hex")}`;
  const admin = postgres(testServerUrl(), { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`create database "${name}" template "${template}"`);
  } finally {
    await admin.end({ timeout: 5 });
  }
  const env = toolEnv();
  const url = withDatabase(env.DATABASE_URL, name);
  const systemUrl = withDatabase(env.DATABASE_SYSTEM_URL, name);
  const db = createDb(
    { url, systemUrl },
    {
      max: opts.poolSize ?? 5,
      applicationName: "berth-test",
      ...(opts.onQuery ? { onQuery: opts.onQuery } : {}),
    },
  );
  return {
    name,
    url,
    systemUrl,
    migrationUrl: withDatabase(env.DATABASE_MIGRATION_URL, name),
    db,
    async drop() {
      await closeDb(db);
      const a = postgres(testServerUrl(), { max: 1, onnotice: () => {} });
      try {
        await a.unsafe(`drop database if exists "${name}" with (force)`);
      } finally {
        await a.end({ timeout: 5 });
      }
    },
  };
}

/** Rows of a query run as the platform (outside any tenant), for tests that inspect every tenant's data. */
export async function systemRows(db: Db, query: SQL): Promise<Record<string, unknown>[]> {
  return withSystem(db, async (tx) => [...(await tx.execute(query))] as Record<string, unknown>[]);
}

/** Redis and log level for apps running inside tests. */
export const testRedisUrl = (): string => toolEnv().REDIS_URL;
export const testLogLevel = (): string => toolEnv().TEST_LOG_LEVEL;
export { generateWorkload, groundTruth, type Workload } from "./usage-workload";
