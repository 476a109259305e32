import { objects } from "@berth/db";
import type { CronJobSpec } from "@berth/kube";
import { eq, sql } from "drizzle-orm";
import { type CronJobStatus, controlledBy, cronJobStatusOf } from "./cronjob-status";
import { deleteJobCascade, type ObjectRow } from "./job-pods";
import { finishedCondition, type JobStatus, jobStatusOf } from "./job-status";
import { sameJson } from "./json";
import { type LoopContext, loopEvent } from "./loop";

/**
 * A CronJob's bookkeeping in each pass of its cluster's loop, as Kubernetes' CronJob controller
 * keeps it: Jobs that finished leave `status.active` (`SawCompletedJob`), `lastSuccessfulTime`
 * follows the newest success, finished Jobs beyond `successfulJobsHistoryLimit` /
 * `failedJobsHistoryLimit` are deleted oldest first, and a deleted CronJob takes its Jobs with it.
 * Its Jobs are made elsewhere: by its job scheduler's fires (jobs/fire-cronjob.ts).
 */
export interface CronJobStep {
  /** Jobs it deleted whose pods are still stopping (their rows go once their nodes confirm). */
  waiting: number;
}

const event = (ctx: LoopContext, cj: ObjectRow, reason: string, message: string) =>
  loopEvent(ctx, { kind: "CronJob", name: `${cj.namespace}/${cj.name}`, reason, message });

/** Marks a Job deleted and starts its cascade; returns whether its row is gone already. */
export async function deleteJob(ctx: LoopContext, job: ObjectRow): Promise<boolean> {
  if (!job.deletionTimestamp)
    await ctx.tx
      .update(objects)
      .set({ deletionTimestamp: ctx.now, resourceVersion: sql`nextval('resource_versions')` })
      .where(eq(objects.id, job.id));
  return deleteJobCascade(ctx, job);
}

/** Kubernetes' byJobStartTime: by start time (Jobs that never started last), then by name. */
function byStartTime(a: { job: ObjectRow; status: JobStatus }, b: { job: ObjectRow; status: JobStatus }) {
  const sa = a.status.startTime ? Date.parse(a.status.startTime) : Number.POSITIVE_INFINITY;
  const sb = b.status.startTime ? Date.parse(b.status.startTime) : Number.POSITIVE_INFINITY;
  return sa - sb || (a.job.name < b.job.name ? -1 : a.job.name > b.job.name ? 1 : 0);
}

export async function reconcileCronJob(
  ctx: LoopContext,
  cj: ObjectRow,
  jobs: readonly ObjectRow[],
): Promise<CronJobStep> {
  const children = jobs.filter((j) => controlledBy(j, cj));
  if (cj.deletionTimestamp) {
    let left = 0;
    for (const job of children) if (!(await deleteJob(ctx, job))) left++;
    if (left === 0) await ctx.tx.delete(objects).where(eq(objects.id, cj.id));
    return { waiting: left };
  }
  const spec = cj.spec as Partial<CronJobSpec>;
  const before = cronJobStatusOf(cj.status);
  let active = [...before.active];
  let lastSuccessfulTime = before.lastSuccessfulTime;
  const live = children
    .filter((job) => !job.deletionTimestamp)
    .map((job) => ({ job, status: jobStatusOf(job.status) }));

  for (const { job, status } of live) {
    const done = finishedCondition(status);
    if (!done) continue;
    if (active.some((r) => r.uid === job.id)) {
      active = active.filter((r) => r.uid !== job.id);
      await event(ctx, cj, "SawCompletedJob", `Saw completed job: ${job.name}, condition: ${done.type}`);
    }
    const completed = done.type === "Complete" ? status.completionTime : undefined;
    if (completed && (!lastSuccessfulTime || Date.parse(completed) > Date.parse(lastSuccessfulTime)))
      lastSuccessfulTime = completed;
  }
  for (const ref of active)
    if (!children.some((j) => j.id === ref.uid)) {
      active = active.filter((r) => r.uid !== ref.uid);
      await event(ctx, cj, "MissingJob", `Active job went missing: ${ref.name}`);
    }

  let waiting = 0;
  const prune = async (type: "Complete" | "Failed", limit: number | undefined) => {
    const done = live.filter(({ status }) => finishedCondition(status)?.type === type).sort(byStartTime);
    for (const { job } of done.slice(0, Math.max(0, done.length - (limit ?? done.length)))) {
      if (!(await deleteJob(ctx, job))) waiting++;
      await event(ctx, cj, "SuccessfulDelete", `Deleted job ${job.name}`);
    }
  };
  await prune("Complete", spec.successfulJobsHistoryLimit);
  await prune("Failed", spec.failedJobsHistoryLimit);

  const status: CronJobStatus = {
    active,
    ...(before.lastScheduleTime ? { lastScheduleTime: before.lastScheduleTime } : {}),
    ...(lastSuccessfulTime ? { lastSuccessfulTime } : {}),
  };
  if (!sameJson(cj.status, status))
    await ctx.tx
      .update(objects)
      .set({ status: { ...status }, resourceVersion: sql`nextval('resource_versions')` })
      .where(eq(objects.id, cj.id));
  return { waiting };
}
