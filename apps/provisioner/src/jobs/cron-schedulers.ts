import { schedulerIdFor } from "@berth/core";
import { jobOptions } from "@berth/core/queues";
import { clusters, objects, withSystem } from "@berth/db";
import type { CronJobSpec } from "@berth/kube";
import { and, eq, inArray } from "drizzle-orm";
import { cronPattern, mostRecentScheduleTime } from "../controllers/cron-schedule";
import { cronJobStatusOf } from "../controllers/cronjob-status";
import type { Deps } from "../deps";

/**
 * Keeps one BullMQ job scheduler per CronJob in step with the CronJobs (run by the sweep, so within
 * seconds of any change and after any loss): a scheduler for each CronJob that is neither suspended
 * nor being deleted, with its cron pattern and time zone; none for any other. A scheduler whose
 * next fire is long overdue (its worker died before it queued the next one) is set up again.
 * And the catch-up: a schedule time that came and went without its Job (the provisioner was down,
 * a fire was lost) is fired now, once — the fire works out which time, as Kubernetes does.
 */
export const CRON_SCHEDULER_PREFIX = "cronjob-";
/** A schedule time not run this long after it came is caught up (its scheduler's fire had its chance). */
export const CATCH_UP_GRACE_MS = 5_000;
/** A scheduler whose next fire is this overdue is set up again. */
export const STALE_SCHEDULER_MS = 60_000;

export interface SchedulerSync {
  upserted: number;
  removed: number;
  caughtUp: number;
}

export async function syncCronSchedulers(deps: Deps): Promise<SchedulerSync> {
  const rows = await withSystem(deps.db, (tx) =>
    tx
      .select({
        id: objects.id,
        tenantId: objects.tenantId,
        clusterId: objects.clusterId,
        spec: objects.spec,
        status: objects.status,
        createdAt: objects.createdAt,
        deletionTimestamp: objects.deletionTimestamp,
      })
      .from(objects)
      .innerJoin(clusters, eq(clusters.id, objects.clusterId))
      .where(and(eq(objects.kind, "CronJob"), inArray(clusters.status, ["active", "updating"]))),
  );
  const queue = deps.queues.get("cron");
  const existing = new Map((await queue.getJobSchedulers(0, -1, true)).map((s) => [s.key, s]));
  const now = deps.now();
  const wanted = new Set<string>();
  const result: SchedulerSync = { upserted: 0, removed: 0, caughtUp: 0 };
  for (const row of rows) {
    const spec = row.spec as unknown as CronJobSpec;
    if (row.deletionTimestamp || spec.suspend) continue;
    const ref = { tenantId: row.tenantId, clusterId: row.clusterId, cronJobId: row.id };
    const id = schedulerIdFor("cronjob.fire", ref);
    const pattern = cronPattern(spec.schedule);
    wanted.add(id);
    const have = existing.get(id);
    // BullMQ keeps `next` on its own clock (the process's), not the controllers' (deps.now).
    const stale = have?.next !== undefined && have.next < Date.now() - STALE_SCHEDULER_MS;
    if (!have || have.pattern !== pattern || have.tz !== spec.timeZone || stale) {
      await queue.upsertJobScheduler(
        id,
        { pattern, tz: spec.timeZone },
        { name: "cronjob.fire", data: ref, opts: jobOptions("cronjob.fire") },
      );
      result.upserted++;
    }
    const status = cronJobStatusOf(row.status);
    // A Forbid CronJob's time waits for its running Job (its fire said so once); the pass that
    // sees that Job finish empties `active`, and the next sweep fires the time if still due.
    if (spec.concurrencyPolicy === "Forbid" && status.active.length > 0) continue;
    const since = status.lastScheduleTime ? new Date(status.lastScheduleTime) : row.createdAt;
    const { time } = mostRecentScheduleTime(spec, since, now);
    if (time && now.getTime() - time.getTime() >= CATCH_UP_GRACE_MS) {
      await deps.queues.enqueue("cronjob.fire", { ...ref, scheduledAt: time.toISOString() });
      result.caughtUp++;
    }
  }
  for (const key of existing.keys())
    if (key.startsWith(CRON_SCHEDULER_PREFIX) && !wanted.has(key)) {
      await queue.removeJobScheduler(key);
      result.removed++;
    }
  return result;
}
