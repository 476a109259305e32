import { toolEnv } from "./env";
import { runMigrations } from "./migrate";

// Invoked by `npm run migrate`.
const url = toolEnv().DATABASE_MIGRATION_URL;
const started = Date.now();
await runMigrations(url);
console.error(`migrations applied to ${new URL(url).pathname.slice(1)} in ${Date.now() - started} ms`);
