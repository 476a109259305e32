import { fileURLToPath } from "node:url";
import { drizzle } from "drizzle-orm/postgres-js";
import { migrate } from "drizzle-orm/postgres-js/migrator";
import postgres from "postgres";

export const MIGRATIONS_FOLDER = fileURLToPath(new URL("../migrations", import.meta.url));

/**
 * Applies the committed migrations over a single connection, holding an advisory lock so that two
 * processes migrating at once (two replicas, `npm run up` twice) take turns instead of colliding.
 */
export async function runMigrations(url: string, folder = MIGRATIONS_FOLDER): Promise<void> {
  const client = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await client`select pg_advisory_lock(hashtext('berth:migrations'))`;
    await migrate(drizzle(client), { migrationsFolder: folder });
    await client`select pg_advisory_unlock(hashtext('berth:migrations'))`;
  } finally {
    await client.end({ timeout: 5 });
  }
}
