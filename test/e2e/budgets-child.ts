/**
 * The budgets' evaluation as a process of its own, for budgets-crash.e2e.test.ts: runs the
 * provisioner's `budgets.evaluate` job once (the function its job scheduler runs), then prints
 * "done". With BERTH_CRASH_AT=<a budgets crash point> it SIGKILLs itself there.
 */

import { createLogger } from "@berth/core";
import { createQueues } from "@berth/core/queues";
import { closeDb, createDb } from "@berth/db";
import { evaluateAllBudgets } from "@berth/provisioner/budgets";
import { crashpointFrom } from "@berth/provisioner/crashpoints";
import { Redis } from "ioredis";

const db = createDb(
  { url: process.env.DATABASE_URL ?? "", systemUrl: process.env.DATABASE_SYSTEM_URL ?? "" },
  { max: 2, applicationName: "berth-budgets-child" },
);
const redis = new Redis(process.env.REDIS_URL ?? "", { maxRetriesPerRequest: null });
const queues = createQueues(redis, process.env.QUEUE_PREFIX ?? "");
console.log("started");
const result = await evaluateAllBudgets({
  db,
  queues,
  now: () => new Date(),
  logger: createLogger("budgets-child", "warn"),
  crashpoint: crashpointFrom(process.env.BERTH_CRASH_AT),
});
console.log(`done ${JSON.stringify(result)}`);
await queues.close();
await redis.quit();
await closeDb(db);
