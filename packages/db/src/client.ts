import { sql } from "drizzle-orm";
import { drizzle, type PostgresJsDatabase } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import * as schema from "./schema";

export type Db = PostgresJsDatabase<typeof schema> & { $client: postgres.Sql };
/** A transaction handle; the same query API as `Db`. */
export type Tx = Parameters<Parameters<Db["transaction"]>[0]>[0];

export interface DbOptions {
  /** Pool size; the default suits one app replica. */
  max?: number;
  /** Name reported in pg_stat_activity. */
  applicationName?: string;
}

/** Connects lazily: no connection is opened until the first query. */
export function createDb(url: string, opts: DbOptions = {}): Db {
  const client = postgres(url, {
    max: opts.max ?? 10,
    idle_timeout: 30,
    connect_timeout: 10,
    onnotice: () => {},
    connection: { application_name: opts.applicationName ?? "berth" },
  });
  return drizzle(client, { schema, casing: "snake_case" }) as Db;
}

export async function closeDb(db: Db): Promise<void> {
  await db.$client.end({ timeout: 5 });
}

/**
 * Runs `fn` in one transaction scoped to a tenant: row-level security limits every statement to the
 * tenant's rows, so a query that forgets its `where tenant_id = …` still sees nothing of others.
 */
export async function withTenant<T>(db: Db, tenantId: string, fn: (tx: Tx) => Promise<T>): Promise<T> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`select set_config('berth.tenant_id', ${tenantId}, true)`);
    return fn(tx);
  });
}

/**
 * Runs `fn` in one transaction that may read and write every tenant's rows. Only for the platform's
 * own work that is not on behalf of one tenant: sign-up, login by email, the sweeps of the control
 * loops. Grep for it: each use is a place where isolation rests on the code, not on the database.
 */
export async function withSystem<T>(db: Db, fn: (tx: Tx) => Promise<T>): Promise<T> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`select set_config('berth.system', 'on', true)`);
    return fn(tx);
  });
}

export async function ping(db: Db): Promise<void> {
  await db.execute(sql`select 1`);
}
