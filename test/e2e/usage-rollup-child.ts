/**
 * The rollup worker as a process of its own, for usage-crash.e2e.test.ts: runs the provisioner's
 * rollup job (the same function its job scheduler runs) until no hour is dirty, then prints
 * "done". With BERTH_CRASH_AT=rollup.before-commit it SIGKILLs itself inside its first batch.
 */
import { closeDb, createDb } from "@berth/db";
import { crashpointFrom } from "@berth/provisioner/crashpoints";
import { rollupUsage } from "@berth/provisioner/metering";

const db = createDb(
  { url: process.env.DATABASE_URL ?? "", systemUrl: process.env.DATABASE_SYSTEM_URL ?? "" },
  { max: 2, applicationName: "berth-rollup-child" },
);
console.log("started");
await rollupUsage({ db, crashpoint: crashpointFrom(process.env.BERTH_CRASH_AT) }, 600_000);
console.log("done");
await closeDb(db);
