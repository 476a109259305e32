import { isEverySchedule, JOB_NAMES, jobSpec, schedulerIdFor } from "@berth/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestProvisioner, TEST_SCHEDULES } from "../src/testing";
import { createFixture, type Fixture } from "./fixtures";

/** The job catalog's own fields decide deduplication and schedules; nothing branches on a job's name. */
let f: Fixture;
beforeAll(async () => {
  f = await createFixture();
});
afterAll(() => f.close());

const ref = { tenantId: "ten_catalog", clusterId: "cl_catalog" };

describe("the job catalog", () => {
  it("gives every job a deduplication mode, and runs every-interval schedules only with an empty payload", () => {
    for (const name of JOB_NAMES) {
      const spec = jobSpec(name);
      expect(["jobId", "keepLastIfActive"]).toContain(spec.dedupe);
      if (isEverySchedule(spec.schedule)) expect(spec.payload.safeParse({}).success, name).toBe(true);
    }
  });

  it("names one scheduler per CronJob for the per-object schedule of cronjob.fire", () => {
    expect(jobSpec("cronjob.fire").schedule).toMatchObject({ perObject: "CronJob" });
    expect(schedulerIdFor("cronjob.fire", { cronJobId: "obj_1" })).toBe("cronjob-obj_1");
    expect(() => schedulerIdFor("reconcile.sweep", {})).toThrow(/no per-object schedule/);
  });

  it("deduplicates a job-id job by its id: a second enqueue adds nothing", async () => {
    await f.deps.queues.enqueue("cluster.rotate-key", ref);
    await f.deps.queues.enqueue("cluster.rotate-key", ref);
    const queue = f.deps.queues.get("clusters");
    expect((await queue.getJob("rotate-cl_catalog"))?.data).toEqual(ref);
    expect(await queue.getWaitingCount()).toBe(1);
  });

  it("deduplicates a reconcile with BullMQ deduplication under its id", async () => {
    await f.deps.queues.enqueue("cluster.reconcile", ref);
    await f.deps.queues.enqueue("cluster.reconcile", ref);
    const queue = f.deps.queues.get("reconcile");
    expect(await queue.getWaitingCount()).toBe(1);
    expect(await queue.getDeduplicationJobId("reconcile-cl_catalog")).not.toBeNull();
  });

  it("sets up a scheduler for each scheduled job, at the interval the deps override or the catalog's", async () => {
    const workers = await startTestProvisioner(f.deps);
    try {
      const schedulers = await f.deps.queues.get("sweep").getJobSchedulers();
      const every = Object.fromEntries(schedulers.map((s) => [s.name, Number(s.every)]));
      expect(every).toEqual({
        "reconcile.sweep": TEST_SCHEDULES["reconcile.sweep"],
        "maintenance.sweep": (jobSpec("maintenance.sweep").schedule as { everyMs: number }).everyMs,
      });
      const metering = await f.deps.queues.get("metering").getJobSchedulers();
      expect(metering.map((s) => s.name).sort()).toEqual([
        "budgets.evaluate",
        "invoices.finalize",
        "usage.derive",
        "usage.rollup",
      ]);
    } finally {
      await workers.stop();
    }
  });
});
