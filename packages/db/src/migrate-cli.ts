import { runMigrations } from "./migrate";

// Invoked by `npm run migrate`; the one place this package reads the environment.
const url = process.env.DATABASE_URL ?? "postgres://berth@127.0.0.1:55432/berth";
const started = Date.now();
await runMigrations(url);
console.error(`migrations applied to ${new URL(url).pathname.slice(1)} in ${Date.now() - started} ms`);
