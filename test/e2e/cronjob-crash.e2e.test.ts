import { randomBytes } from "node:crypto";
import { generateMasterKey, newId } from "@berth/core";
import { createQueues, type Queues } from "@berth/core/queues";
import { clusters, objects, tenants, withSystem } from "@berth/db";
import { createTestDatabase, systemRows, type TestDatabase } from "@berth/db/testing";
import { normaliseCronJob } from "@berth/kube";
import { CRONJOB_CRASH_POINTS } from "@berth/provisioner/crashpoints";
import { sql } from "drizzle-orm";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bundled, freePort, type Proc, poll, start } from "./support";

/**
 * A CronJob that runs every minute, through real provisioner processes killed with SIGKILL at its
 * scheduled time: first before its fire commits, then (the next process, picking the fire up
 * again) after it committed but before BullMQ heard of it. A healthy process then takes over.
 * Afterwards every minute since the CronJob was made has exactly one Job: none skipped, none
 * doubled. Real minutes pass (about two and a half).
 */
const MINUTE = 60_000;
let database: TestDatabase;
let redis: Redis;
let queues: Queues;
let masterKey: string;
let cronJobId: string;
let ref: { tenantId: string; clusterId: string };
const procs: Proc[] = [];

function provisioner(crashAt: string | undefined, port: number): Proc {
  // One node process (no tsx wrapper, bundled), so that its SIGKILL is what the test observes.
  const p = start(process.execPath, [provisionerBundle], {
    DATABASE_URL: database.url,
    DATABASE_SYSTEM_URL: database.systemUrl,
    REDIS_URL: process.env.REDIS_URL ?? "redis://127.0.0.1:56379",
    QUEUE_PREFIX: queues.prefix,
    BERTH_MASTER_KEY: masterKey,
    PROVISIONER_PORT: String(port),
    SWEEP_INTERVAL_MS: "300",
    // A killed worker's job is picked up again within a few seconds.
    JOB_LOCK_SECONDS: "4",
    JOB_STALLED_CHECK_SECONDS: "1",
    LOG_LEVEL: "warn",
    ...(crashAt ? { BERTH_CRASH_AT: crashAt } : {}),
  });
  procs.push(p);
  return p;
}

/** Resolves with when the process died of SIGKILL; fails if it exits otherwise or not at all. */
async function killed(p: Proc, timeoutMs: number): Promise<number> {
  const exit = await Promise.race([
    p.exited.then(() => p.child.signalCode),
    new Promise((r) => setTimeout(() => r("timeout"), timeoutMs)),
  ]);
  if (exit !== "SIGKILL") throw new Error(`not killed (${String(exit)}):\n${p.output().slice(-3000)}`);
  return Date.now();
}

const jobs = async () =>
  (
    await systemRows(
      database.db,
      sql`select name, id from objects where kind = 'Job' and cluster_id = ${ref.clusterId} order by name`,
    )
  ).map((r) => ({ name: String(r.name), id: String(r.id) }));
const status = async () =>
  (await systemRows(database.db, sql`select status from objects where id = ${cronJobId}`))[0]?.status as {
    active: { name: string }[];
    lastScheduleTime?: string;
  };
const jobName = (minuteStart: number) => `tick-${Math.floor(minuteStart / MINUTE)}`;

let provisionerBundle: string;
beforeAll(async () => {
  provisionerBundle = await bundled("apps/provisioner/src/index.ts");
  database = await createTestDatabase();
  redis = new Redis(process.env.REDIS_URL ?? "redis://127.0.0.1:56379", { maxRetriesPerRequest: null });
  queues = createQueues(redis, `test-${randomBytes(5).toString("hex")}`);
  masterKey = generateMasterKey();
  ref = { tenantId: newId("tenant"), clusterId: newId("cluster") };
  cronJobId = `obj_${randomBytes(13).toString("hex")}`;
  const spec = normaliseCronJob({
    spec: {
      schedule: "* * * * *",
      jobTemplate: {
        spec: {
          template: {
            spec: {
              containers: [{ name: "tick", image: "localhost/berth/demo-web:latest" }],
              restartPolicy: "Never",
            },
          },
        },
      },
    },
  });
  await withSystem(database.db, async (tx) => {
    await tx.insert(tenants).values({ id: ref.tenantId, name: `t-${randomBytes(4).toString("hex")}` });
    await tx
      .insert(clusters)
      .values({ ...ref, id: ref.clusterId, name: "c", status: "active", activeAt: new Date() });
    await tx.insert(objects).values({
      id: cronJobId,
      ...ref,
      kind: "CronJob",
      namespace: "default",
      name: "tick",
      spec: spec as unknown as Record<string, unknown>,
    });
  });
}, 60_000);

afterAll(async () => {
  for (const p of procs)
    if (p.child.exitCode === null && p.child.signalCode === null) {
      p.child.kill("SIGTERM");
      await p.exited;
    }
  for (const q of ["clusters", "reconcile", "sweep", "machines", "cron"] as const)
    await queues.get(q).obliterate({ force: true });
  await queues.close();
  await redis.quit();
  await database.drop();
}, 60_000);

describe("a CronJob every minute across kill -9 of the provisioner at its scheduled time", () => {
  it("runs every minute exactly once: none skipped, none doubled", async () => {
    expect(CRONJOB_CRASH_POINTS).toEqual(["cronjob.before-commit", "cronjob.after-commit"]);

    // 1. Killed at the first schedule time, before its Job is committed: nothing is left of it.
    const first = provisioner("cronjob.before-commit", await freePort());
    const diedAt = await killed(first, 75_000);
    const t1 = Math.floor(diedAt / MINUTE) * MINUTE;
    expect(diedAt - t1, "killed at the scheduled time").toBeLessThan(10_000);
    expect(await jobs()).toEqual([]);

    // 2. The next process fires that time again and is killed after the commit, before BullMQ
    //    heard of it: the Job of that minute exists once.
    const second = provisioner("cronjob.after-commit", await freePort());
    await killed(second, 30_000);
    expect((await jobs()).map((j) => j.name)).toEqual([jobName(t1)]);

    // 3. A healthy process: the fire is delivered once more (nothing doubles), and the next minute runs.
    const healthy = provisioner(undefined, await freePort());
    const t2 = t1 + MINUTE;
    await poll("the next minute's Job", async () => (await jobs()).length >= 2, 75_000);
    await new Promise((r) => setTimeout(r, 8_000)); // every redelivery and catch-up has had its chance
    const names = (await jobs()).map((j) => j.name);
    console.log(
      `cronjob crash: killed ${diedAt - t1} ms after ${new Date(t1).toISOString()}; jobs ${JSON.stringify(names)}`,
    );
    expect(names).toEqual([jobName(t1), jobName(t2)]);
    const s = await status();
    expect(s.lastScheduleTime).toBe(new Date(t2).toISOString().replace(".000Z", "Z"));
    expect(s.active.map((r) => r.name).sort()).toEqual(names);
    const created = await systemRows(
      database.db,
      sql`select count(*)::int as n from events where reason = 'SuccessfulCreate' and object_kind = 'CronJob' and cluster_id = ${ref.clusterId}`,
    );
    expect(created[0]?.n).toBe(2);
    healthy.child.kill("SIGTERM");
    await healthy.exited;
  }, 240_000);
});
