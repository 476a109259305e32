import { events, objects, withSystem } from "@berth/db";
import { and, asc, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rfc1123z } from "../src/controllers/cron-schedule";
import type { CronJobStatus } from "../src/controllers/cronjob-status";
import { rfc3339 } from "../src/controllers/pod-state";
import { syncCronSchedulers } from "../src/jobs/cron-schedulers";
import { fireCronJob, scheduledJobId } from "../src/jobs/fire-cronjob";
import { reconcileCluster } from "../src/jobs/reconcile-cluster";
import { startTestProvisioner } from "../src/testing";
import { createFixture, type Fixture, insertTenantAndCluster } from "./fixtures";
import { insertCronJob, objectRow } from "./workload-fixtures";

/**
 * CronJobs: each fire of a CronJob's job scheduler makes the Job of its schedule time, once, named
 * as Kubernetes names it; missed times are caught up as Kubernetes does; concurrency policies and
 * history limits; the schedulers kept in step with the CronJobs. The clock is the test's.
 */
let f: Fixture;
beforeAll(async () => {
  f = await createFixture();
});
afterAll(() => f.close());

type Ref = { tenantId: string; clusterId: string };
const MINUTE = 60_000;

/** Sets the clock `seconds` past the start of the next minute, and returns that minute's start. */
function nextMinute(seconds = 0): number {
  const start = Math.ceil((f.clock.now.getTime() + 1) / MINUTE) * MINUTE;
  f.clock.now = new Date(start + seconds * 1000);
  return start;
}

const fire = (ref: Ref, cronJobId: string, dueAt?: number) =>
  fireCronJob(f.deps, { ...ref, cronJobId }, dueAt);
const jobsOf = (clusterId: string) =>
  withSystem(f.deps.db, (tx) =>
    tx
      .select()
      .from(objects)
      .where(and(eq(objects.clusterId, clusterId), eq(objects.kind, "Job")))
      .orderBy(asc(objects.name)),
  );
const statusOf = async (id: string) => (await objectRow(f, id))?.status as unknown as CronJobStatus;
const eventsOf = (clusterId: string, reason: string) =>
  withSystem(f.deps.db, (tx) =>
    tx
      .select()
      .from(events)
      .where(and(eq(events.clusterId, clusterId), eq(events.reason, reason)))
      .orderBy(asc(events.createdAt)),
  );
const minutes = (ms: number) => Math.floor(ms / MINUTE);

describe("a CronJob's fires", () => {
  it("make one Job per schedule time, named <cronjob>-<minutes>, however often a fire is delivered", async () => {
    const ref = await insertTenantAndCluster(f);
    nextMinute(30);
    const id = await insertCronJob(f, ref, "tick", {
      jobTemplate: {
        metadata: { labels: { team: "a" } },
        spec: {
          template: { spec: { containers: [{ name: "w", image: "localhost/x" }], restartPolicy: "Never" } },
        },
      },
    });
    expect(await fire(ref, id)).toBe("not-due");
    const t1 = nextMinute(0.1);
    expect(await fire(ref, id, t1)).toBe("created");
    // The same fire delivered again, and a catch-up of the same time: nothing more to run.
    expect(await fire(ref, id, t1)).toBe("not-due");
    expect(await fire(ref, id)).toBe("not-due");
    const [job] = await jobsOf(ref.clusterId);
    expect(job).toMatchObject({
      id: scheduledJobId(id, new Date(t1)),
      name: `tick-${minutes(t1)}`,
      namespace: "default",
      labels: { team: "a" },
      annotations: { "batch.kubernetes.io/cronjob-scheduled-timestamp": rfc3339(new Date(t1)) },
      ownerReferences: [
        {
          apiVersion: "batch/v1",
          kind: "CronJob",
          name: "tick",
          uid: id,
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
      spec: { completions: 1, parallelism: 1, backoffLimit: 6 },
    });
    const t2 = nextMinute(0.2);
    expect(await fire(ref, id, t2)).toBe("created");
    const t3 = nextMinute(1);
    expect(await fire(ref, id, t3)).toBe("created");
    expect((await jobsOf(ref.clusterId)).map((j) => j.name)).toEqual(
      [t1, t2, t3].map((t) => `tick-${minutes(t)}`),
    );
    expect(await statusOf(id)).toEqual({
      active: [t1, t2, t3].map((t) => ({
        apiVersion: "batch/v1",
        kind: "Job",
        name: `tick-${minutes(t)}`,
        namespace: "default",
        uid: scheduledJobId(id, new Date(t)),
      })),
      lastScheduleTime: rfc3339(new Date(t3)),
    });
    expect((await eventsOf(ref.clusterId, "SuccessfulCreate")).map((e) => e.message)).toEqual(
      [t1, t2, t3].map((t) => `Created job tick-${minutes(t)}`),
    );
  });

  it("after a gap run the latest missed time once, and warn when more than 100 were missed", async () => {
    const ref = await insertTenantAndCluster(f);
    nextMinute(30);
    const id = await insertCronJob(f, ref, "gap");
    const latest = nextMinute(5 * 60 + 10) + 5 * MINUTE;
    expect(await fire(ref, id)).toBe("created");
    expect(await fire(ref, id)).toBe("not-due");
    expect((await jobsOf(ref.clusterId)).map((j) => j.name)).toEqual([`gap-${minutes(latest)}`]);

    const old = await insertCronJob(f, ref, "old", {}, new Date(f.clock.now.getTime() - 3 * 3_600_000));
    expect(await fire(ref, old)).toBe("created");
    const [warning] = await eventsOf(ref.clusterId, "TooManyMissedTimes");
    expect(warning).toMatchObject({
      type: "Warning",
      objectKind: "CronJob",
      objectName: "default/old",
      message:
        "too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew",
    });
    expect((await jobsOf(ref.clusterId)).filter((j) => j.name.startsWith("old-"))).toHaveLength(1);
  });

  it("past startingDeadlineSeconds do not run, and a fire that late says MissSchedule", async () => {
    const ref = await insertTenantAndCluster(f);
    nextMinute(30);
    const id = await insertCronJob(f, ref, "strict", { startingDeadlineSeconds: 10 });
    const t1 = nextMinute(30);
    expect(await fire(ref, id, t1)).toBe("missed");
    expect(await jobsOf(ref.clusterId)).toEqual([]);
    expect((await eventsOf(ref.clusterId, "MissSchedule"))[0]).toMatchObject({
      type: "Warning",
      message: `Missed scheduled time to start a job: ${rfc1123z(new Date(t1))}`,
    });
    const t2 = nextMinute(5);
    expect(await fire(ref, id, t2)).toBe("created");
  });

  it("with concurrencyPolicy Forbid skip while a Job runs; with Replace delete it first", async () => {
    const ref = await insertTenantAndCluster(f);
    nextMinute(30);
    const forbid = await insertCronJob(f, ref, "forbid", { concurrencyPolicy: "Forbid" });
    const replace = await insertCronJob(f, ref, "replace", { concurrencyPolicy: "Replace" });
    const t1 = nextMinute(1);
    expect(await fire(ref, forbid, t1)).toBe("created");
    expect(await fire(ref, replace, t1)).toBe("created");
    const t2 = nextMinute(1);
    expect(await fire(ref, forbid, t2)).toBe("forbidden");
    expect((await eventsOf(ref.clusterId, "JobAlreadyActive"))[0]?.message).toBe(
      "Not starting job because prior execution is running and concurrency policy is Forbid",
    );
    expect((await statusOf(forbid)).lastScheduleTime).toBe(rfc3339(new Date(t1)));
    expect(await fire(ref, replace, t2)).toBe("created");
    const jobs = await jobsOf(ref.clusterId);
    expect(jobs.filter((j) => j.name.startsWith("forbid-"))).toHaveLength(1);
    const replaced = jobs.filter((j) => j.name.startsWith("replace-"));
    expect(replaced.map((j) => [j.name, j.deletionTimestamp !== null])).toEqual([
      [`replace-${minutes(t1)}`, true],
      [`replace-${minutes(t2)}`, false],
    ]);
    expect((await statusOf(replace)).active.map((r) => r.name)).toEqual([`replace-${minutes(t2)}`]);
    expect((await eventsOf(ref.clusterId, "SuccessfulDelete"))[0]?.message).toBe(
      `Deleted job replace-${minutes(t1)}`,
    );
  });

  it("of a suspended CronJob make nothing", async () => {
    const ref = await insertTenantAndCluster(f);
    nextMinute(30);
    const id = await insertCronJob(f, ref, "off", { suspend: true });
    expect(await fire(ref, id, nextMinute(1))).toBe("suspended");
    expect(await jobsOf(ref.clusterId)).toEqual([]);
  });
});

describe("a CronJob's books, kept by each pass", () => {
  it("takes finished Jobs off active, follows lastSuccessfulTime and deletes Jobs beyond the history limits", async () => {
    const ref = await insertTenantAndCluster(f);
    nextMinute(30);
    const id = await insertCronJob(f, ref, "hist", {
      successfulJobsHistoryLimit: 1,
      failedJobsHistoryLimit: 0,
    });
    const times: number[] = [];
    for (let i = 0; i < 3; i++) {
      times.push(nextMinute(1));
      expect(await fire(ref, id, times[i])).toBe("created");
    }
    const [a, b, c] = await jobsOf(ref.clusterId);
    const finish = (job: typeof a, type: "Complete" | "Failed", at: number) =>
      withSystem(f.deps.db, (tx) =>
        tx
          .update(objects)
          .set({
            status: {
              active: 0,
              ready: 0,
              succeeded: type === "Complete" ? 1 : 0,
              failed: type === "Failed" ? 7 : 0,
              startTime: rfc3339(new Date(at - 30_000)),
              ...(type === "Complete" ? { completionTime: rfc3339(new Date(at)) } : {}),
              conditions: [
                {
                  type,
                  status: "True",
                  reason: type === "Complete" ? "CompletionsReached" : "BackoffLimitExceeded",
                  message: "",
                  lastProbeTime: rfc3339(new Date(at)),
                  lastTransitionTime: rfc3339(new Date(at)),
                },
              ],
            },
          })
          .where(eq(objects.id, job?.id ?? "")),
      );
    await finish(a, "Complete", times[0] ?? 0);
    await finish(b, "Complete", (times[1] ?? 0) + 5_000);
    await finish(c, "Failed", times[2] ?? 0);
    await reconcileCluster(f.deps, ref);
    expect(await statusOf(id)).toEqual({
      active: [],
      lastScheduleTime: rfc3339(new Date(times[2] ?? 0)),
      lastSuccessfulTime: rfc3339(new Date((times[1] ?? 0) + 5_000)),
    });
    expect((await jobsOf(ref.clusterId)).map((j) => j.name)).toEqual([b?.name]);
    expect((await eventsOf(ref.clusterId, "SawCompletedJob")).map((e) => e.message).sort()).toEqual([
      `Saw completed job: ${a?.name}, condition: Complete`,
      `Saw completed job: ${b?.name}, condition: Complete`,
      `Saw completed job: ${c?.name}, condition: Failed`,
    ]);
    expect((await eventsOf(ref.clusterId, "SuccessfulDelete")).map((e) => e.message).sort()).toEqual(
      [`Deleted job ${a?.name}`, `Deleted job ${c?.name}`].sort(),
    );
  });

  it("deleted, takes its Jobs with it, then goes", async () => {
    const ref = await insertTenantAndCluster(f);
    nextMinute(30);
    const id = await insertCronJob(f, ref, "gone");
    await fire(ref, id, nextMinute(1));
    await fire(ref, id, nextMinute(1));
    await withSystem(f.deps.db, (tx) =>
      tx.update(objects).set({ deletionTimestamp: f.clock.now }).where(eq(objects.id, id)),
    );
    await reconcileCluster(f.deps, ref);
    expect(await jobsOf(ref.clusterId)).toEqual([]);
    expect(await objectRow(f, id)).toBeUndefined();
  });
});

describe("the CronJobs' job schedulers", () => {
  it("are one per CronJob with its pattern and time zone, none when suspended, restored when lost", async () => {
    const ref = await insertTenantAndCluster(f);
    const queue = f.deps.queues.get("cron");
    nextMinute(30);
    const paris = await insertCronJob(f, ref, "paris", { schedule: "*/5 * * * *", timeZone: "Europe/Paris" });
    const hourly = await insertCronJob(f, ref, "hourly", { schedule: "@hourly" });
    await insertCronJob(f, ref, "off", { suspend: true });
    await syncCronSchedulers(f.deps);
    const byKey = async () =>
      Object.fromEntries(
        (await queue.getJobSchedulers(0, -1, true))
          .filter((s) => s.key.startsWith("cronjob-"))
          .map((s) => [s.key, { pattern: s.pattern, tz: s.tz, data: s.template?.data }]),
      );
    expect(await byKey()).toMatchObject({
      [`cronjob-${paris}`]: {
        pattern: "*/5 * * * *",
        tz: "Europe/Paris",
        data: { ...ref, cronJobId: paris },
      },
      [`cronjob-${hourly}`]: { pattern: "0 * * * *", tz: "UTC" },
    });
    const mine = (keys: Record<string, unknown>) =>
      Object.keys(keys).filter((k) => [paris, hourly].some((id) => k.endsWith(id)));
    expect(mine(await byKey())).toHaveLength(2);

    await queue.removeJobScheduler(`cronjob-${paris}`);
    expect((await syncCronSchedulers(f.deps)).upserted).toBe(1);
    expect(await byKey()).toHaveProperty(`cronjob-${paris}`);

    const o = await objectRow(f, hourly);
    await withSystem(f.deps.db, (tx) =>
      tx
        .update(objects)
        .set({ spec: { ...o?.spec, suspend: true } })
        .where(eq(objects.id, hourly)),
    );
    await syncCronSchedulers(f.deps);
    expect(await byKey()).not.toHaveProperty(`cronjob-${hourly}`);
    await withSystem(f.deps.db, (tx) =>
      tx.update(objects).set({ deletionTimestamp: f.clock.now }).where(eq(objects.id, paris)),
    );
    await syncCronSchedulers(f.deps);
    expect(await byKey()).not.toHaveProperty(`cronjob-${paris}`);
  });

  it("catch up a schedule time that came and went without its Job", async () => {
    const ref = await insertTenantAndCluster(f);
    nextMinute(30);
    const id = await insertCronJob(f, ref, "late");
    const due = nextMinute(4);
    await syncCronSchedulers(f.deps);
    expect(await f.deps.queues.get("cron").getJob(`cronjob-${id}-${due}`)).toBeUndefined();
    f.clock.advance(1_000);
    await syncCronSchedulers(f.deps);
    const job = await f.deps.queues.get("cron").getJob(`cronjob-${id}-${due}`);
    expect(job?.data).toEqual({ ...ref, cronJobId: id, scheduledAt: new Date(due).toISOString() });
  });

  it("leave a Forbid CronJob's time to wait while its Job runs", async () => {
    const ref = await insertTenantAndCluster(f);
    nextMinute(30);
    const id = await insertCronJob(f, ref, "one-at-a-time", { concurrencyPolicy: "Forbid" });
    expect(await fire(ref, id, nextMinute(1))).toBe("created");
    const due = nextMinute(10);
    await syncCronSchedulers(f.deps);
    expect(await f.deps.queues.get("cron").getJob(`cronjob-${id}-${due}`)).toBeUndefined();
  });

  it("fire through the provisioner's workers, which pass the scheduler's due time to the fire", async () => {
    const ref = await insertTenantAndCluster(f);
    f.clock.now = new Date();
    const id = await insertCronJob(f, ref, "live", {}, new Date(Date.now() - 2 * MINUTE));
    const workers = await startTestProvisioner(f.deps);
    try {
      // A scheduler firing every second stands for the CronJob's (BullMQ's own due time each time).
      await f.deps.queues
        .get("cron")
        .upsertJobScheduler(
          "test-fire",
          { every: 1_000 },
          { name: "cronjob.fire", data: { ...ref, cronJobId: id } },
        );
      const deadline = Date.now() + 15_000;
      while ((await jobsOf(ref.clusterId)).length === 0 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 100));
      await new Promise((r) => setTimeout(r, 2_500));
      // Many fires, one Job per minute (two if the test ran across a minute's end).
      const names = (await jobsOf(ref.clusterId)).map((j) => j.name);
      expect(names.length).toBeGreaterThanOrEqual(1);
      expect(names.length).toBeLessThanOrEqual(2);
      expect(names).toContain(`live-${minutes(Date.parse((await statusOf(id)).lastScheduleTime ?? ""))}`);
    } finally {
      await f.deps.queues.get("cron").removeJobScheduler("test-fire");
      await workers.stop();
    }
  });
});
