import { objects } from "@berth/db";
import type { JobSpec } from "@berth/kube";
import { eq, sql } from "drizzle-orm";
import {
  createJobPods,
  deleteJobCascade,
  deleteJobPods,
  jobEventName,
  markCounted,
  type ObjectRow,
} from "./job-pods";
import {
  backoffUntil,
  ensureJobCondition,
  finishedCondition,
  JOB_TRACKING_FINALIZER,
  type JobStatus,
  jobStatusOf,
  newJobCondition,
  pastBackoffLimitOnFailure,
} from "./job-status";
import { sameJson } from "./json";
import { type LoopContext, loopEvent, type PodRow } from "./loop";
import { isActive, isTerminal, removalRank, rfc3339 } from "./pod-state";

/**
 * What one Job's step did: the pods it created (for the scheduler). A cascade waiting for a node to
 * confirm its pods are gone needs no pass of its own: the node's report wakes the loop.
 */
export interface JobStep {
  created: PodRow[];
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** The Job's admitted spec; a row written past admission fails its own step, not the pass. */
export function jobSpecOf(job: ObjectRow): JobSpec {
  const s = job.spec as Partial<JobSpec>;
  const whole = (v: unknown, min: number) => typeof v === "number" && Number.isInteger(v) && v >= min;
  if (!isObject(s.template) || !Array.isArray(s.template.containers))
    throw new Error("the Job's spec has no pod template");
  if (!whole(s.completions, 1) || !whole(s.parallelism, 0) || !whole(s.backoffLimit, 0))
    throw new Error("the Job's completions, parallelism or backoffLimit is not a whole number");
  return s as JobSpec;
}

async function writeStatus(ctx: LoopContext, job: ObjectRow, status: JobStatus): Promise<void> {
  if (sameJson(job.status, status)) return;
  await ctx.tx
    .update(objects)
    .set({ status: { ...status }, resourceVersion: sql`nextval('resource_versions')` })
    .where(eq(objects.id, job.id));
}

const event = (ctx: LoopContext, job: ObjectRow, reason: string, message: string, warning = false) =>
  loopEvent(ctx, {
    kind: "Job",
    name: jobEventName(job),
    reason,
    message,
    type: warning ? "Warning" : "Normal",
  });

/** A finished Job keeps its finished pods; once `ttlSecondsAfterFinished` has passed, it goes with them. */
async function finished(
  ctx: LoopContext,
  job: ObjectRow,
  spec: JobSpec,
  status: JobStatus,
  own: PodRow[],
): Promise<JobStep> {
  const done = finishedCondition(status);
  await deleteJobPods(ctx, job, own.filter(isActive));
  const ttl = spec.ttlSecondsAfterFinished;
  if (done && ttl !== undefined && ctx.now.getTime() >= Date.parse(done.lastTransitionTime) + ttl * 1000) {
    await ctx.tx
      .update(objects)
      .set({ deletionTimestamp: ctx.now, resourceVersion: sql`nextval('resource_versions')` })
      .where(eq(objects.id, job.id));
    await deleteJobCascade(ctx, job);
    return { created: [] };
  }
  await writeStatus(ctx, job, { ...status, active: 0, ready: 0 });
  return { created: [] };
}

/**
 * Moves one Job one step, as Kubernetes' job controller syncs one: counts its pods that finished
 * (once each: their tracking finalizer goes), honours `suspend`, fails it past `backoffLimit` or
 * `activeDeadlineSeconds` (its running pods stopped), completes it at `completions` successes,
 * and otherwise keeps `min(parallelism, completions - succeeded)` pods running, waiting out the
 * back-off after failures. `own` is every pod row of the Job.
 */
export async function reconcileJob(ctx: LoopContext, job: ObjectRow, own: PodRow[]): Promise<JobStep> {
  if (job.deletionTimestamp) {
    await deleteJobCascade(ctx, job);
    return { created: [] };
  }
  const spec = jobSpecOf(job);
  const status = jobStatusOf(job.status);
  if (finishedCondition(status)) return finished(ctx, job, spec, status, own);

  const newlyFinished = own.filter((p) => isTerminal(p) && p.finalizers.includes(JOB_TRACKING_FINALIZER));
  await markCounted(ctx, newlyFinished);
  const succeeded = status.succeeded + newlyFinished.filter((p) => p.phase === "Succeeded").length;
  let failed = status.failed + newlyFinished.filter((p) => p.phase === "Failed").length;
  let active = own.filter(isActive);
  let conditions = status.conditions;
  let startTime = status.startTime;
  const now = ctx.now;
  const write = (more: Partial<JobStatus> = {}) =>
    writeStatus(ctx, job, {
      active: active.length,
      ready: active.filter((p) => p.ready).length,
      succeeded,
      failed,
      ...(startTime ? { startTime } : {}),
      conditions,
      ...more,
    });

  if (spec.suspend) {
    const s = ensureJobCondition(conditions, "Suspended", "True", "JobSuspended", "Job suspended", now);
    conditions = s.conditions;
    if (s.changed) await event(ctx, job, "Suspended", "Job suspended");
    // A suspended Job's pods are stopped; they count as neither success nor failure.
    await deleteJobPods(ctx, job, active);
    active = [];
    await write();
    return { created: [] };
  }
  const resumed = ensureJobCondition(conditions, "Suspended", "False", "JobResumed", "Job resumed", now);
  if (resumed.changed) {
    conditions = resumed.conditions;
    startTime = rfc3339(now);
    await event(ctx, job, "Resumed", "Job resumed");
  }
  startTime ??= rfc3339(now);

  const failure =
    failed > spec.backoffLimit || pastBackoffLimitOnFailure(spec, active)
      ? { reason: "BackoffLimitExceeded", message: "Job has reached the specified backoff limit" }
      : spec.activeDeadlineSeconds !== undefined &&
          now.getTime() - Date.parse(startTime) >= spec.activeDeadlineSeconds * 1000
        ? { reason: "DeadlineExceeded", message: "Job was active longer than specified deadline" }
        : null;
  if (failure) {
    // Its running pods are stopped and, as in Kubernetes, counted as failed.
    await deleteJobPods(ctx, job, active);
    failed += active.length;
    active = [];
    conditions = [...conditions, newJobCondition("Failed", "True", failure.reason, failure.message, now)];
    await event(ctx, job, failure.reason, failure.message, true);
    await write();
    return { created: [] };
  }
  if (succeeded >= spec.completions) {
    await deleteJobPods(ctx, job, active);
    active = [];
    conditions = [
      ...conditions,
      newJobCondition(
        "Complete",
        "True",
        "CompletionsReached",
        "Reached expected number of succeeded pods",
        now,
      ),
    ];
    await event(ctx, job, "Completed", "Job completed");
    await write({ completionTime: rfc3339(now) });
    return { created: [] };
  }

  const wanted = Math.min(spec.parallelism, spec.completions - succeeded);
  let created: PodRow[] = [];
  if (active.length > wanted) {
    const extra = [...active].sort(removalRank).slice(0, active.length - wanted);
    await deleteJobPods(ctx, job, extra);
    active = active.filter((p) => !extra.includes(p));
  } else if (active.length < wanted) {
    const until = backoffUntil(own.filter(isTerminal));
    if (until === null || now.getTime() >= until) {
      created = await createJobPods(ctx, job, spec, wanted - active.length);
      active = [...active, ...created];
    }
  }
  await write();
  return { created };
}
