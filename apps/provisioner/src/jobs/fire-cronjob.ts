import { createHash } from "node:crypto";
import type { JobPayload } from "@berth/core";
import { clusters, isOperational, objects, recordEvent, type Tx, withTenant } from "@berth/db";
import type { CronJobSpec } from "@berth/kube";
import { and, eq, inArray, sql } from "drizzle-orm";
import { mostRecentScheduleTime, rfc1123z, scheduledJobName } from "../controllers/cron-schedule";
import { cronJobOwnerReference, cronJobStatusOf, jobReference } from "../controllers/cronjob-status";
import type { ObjectRow } from "../controllers/job-pods";
import { rfc3339 } from "../controllers/pod-state";
import type { Deps } from "../deps";

/**
 * One fire of a CronJob: its job scheduler's job at a schedule time, or the sweep's catch-up of a
 * schedule time no fire made (the provisioner was down, a fire was lost). Like a sync of
 * Kubernetes' CronJob controller, it works out the most recent schedule time not yet run (from
 * `status.lastScheduleTime`, within `startingDeadlineSeconds`) and creates its Job, named
 * `<cronjob>-<minutes since the epoch>` with an id derived from the same: in one transaction with
 * the status that records it, under the cluster's lock. A fire delivered twice, or a fire and a
 * catch-up of the same time, make one Job; a crash before the commit leaves nothing and the job
 * is run again.
 */
export type FireOutcome =
  | "created"
  | "already-run"
  | "not-due"
  | "forbidden"
  | "missed"
  | "suspended"
  | "gone";

/** The uid of the Job of one schedule time: the same for every fire of that time. */
export function scheduledJobId(cronJobId: string, scheduledAt: Date): string {
  const minutes = Math.floor(scheduledAt.getTime() / 60_000);
  return `obj_${createHash("sha256").update(`${cronJobId}:${minutes}`).digest("hex").slice(0, 26)}`;
}

type Event = { reason: string; message: string; type?: "Normal" | "Warning" };

async function lockedCronJob(tx: Tx, p: JobPayload<"cronjob.fire">): Promise<ObjectRow | null> {
  // The cluster's lock first, as every pass of its control loop takes it: the two never interleave.
  const [cluster] = await tx
    .select({ status: clusters.status })
    .from(clusters)
    .where(eq(clusters.id, p.clusterId))
    .for("no key update");
  if (!cluster || !isOperational(cluster.status)) return null;
  const [cj] = await tx
    .select()
    .from(objects)
    .where(and(eq(objects.id, p.cronJobId), eq(objects.kind, "CronJob"), eq(objects.clusterId, p.clusterId)))
    .for("update");
  return cj && !cj.deletionTimestamp ? cj : null;
}

async function fireLocked(
  deps: Deps,
  tx: Tx,
  cj: ObjectRow,
  dueAt: number | undefined,
  event: (e: Event) => Promise<void>,
): Promise<FireOutcome> {
  const spec = cj.spec as unknown as CronJobSpec;
  if (spec.suspend) return "suspended";
  const status = cronJobStatusOf(cj.status);
  const now = new Date(Math.max(deps.now().getTime(), dueAt ?? 0));
  const earliest = status.lastScheduleTime ? new Date(status.lastScheduleTime) : cj.createdAt;
  const { time, missed } = mostRecentScheduleTime(spec, earliest, now);
  if (!time) {
    const sds = spec.startingDeadlineSeconds;
    if (
      dueAt !== undefined &&
      sds !== undefined &&
      dueAt > earliest.getTime() &&
      dueAt + sds * 1000 < now.getTime()
    )
      await event({
        type: "Warning",
        reason: "MissSchedule",
        message: `Missed scheduled time to start a job: ${rfc1123z(new Date(dueAt))}`,
      });
    return dueAt !== undefined && sds !== undefined ? "missed" : "not-due";
  }
  if (missed === "many")
    await event({
      type: "Warning",
      reason: "TooManyMissedTimes",
      message:
        "too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew",
    });
  const name = scheduledJobName(cj.name, time);
  if (status.active.some((r) => r.name === name) || status.lastScheduleTime === rfc3339(time))
    return "already-run";
  let active = status.active;
  if (spec.concurrencyPolicy === "Forbid" && active.length > 0) {
    await event({
      reason: "JobAlreadyActive",
      message: "Not starting job because prior execution is running and concurrency policy is Forbid",
    });
    return "forbidden";
  }
  if (spec.concurrencyPolicy === "Replace" && active.length > 0) {
    // The pass of the cluster's loop that follows stops their pods and removes them.
    await tx
      .update(objects)
      .set({ deletionTimestamp: now, resourceVersion: sql`nextval('resource_versions')` })
      .where(
        inArray(
          objects.id,
          active.map((r) => r.uid),
        ),
      );
    for (const r of active) await event({ reason: "SuccessfulDelete", message: `Deleted job ${r.name}` });
    active = [];
  }
  const id = scheduledJobId(cj.id, time);
  const [job] = await tx
    .insert(objects)
    .values({
      id,
      tenantId: cj.tenantId,
      clusterId: cj.clusterId,
      kind: "Job",
      namespace: cj.namespace,
      name,
      labels: spec.jobTemplate.labels,
      annotations: {
        ...spec.jobTemplate.annotations,
        "batch.kubernetes.io/cronjob-scheduled-timestamp": rfc3339(time),
      },
      spec: spec.jobTemplate.spec as unknown as Record<string, unknown>,
      status: {},
      ownerReferences: [cronJobOwnerReference(cj)],
    })
    .onConflictDoNothing()
    .returning();
  // A Job of that name that is not this fire's (someone else's, or one since deleted) is left alone.
  if (!job) return "already-run";
  await event({ reason: "SuccessfulCreate", message: `Created job ${name}` });
  deps.crashpoint("cronjob.before-commit");
  await tx
    .update(objects)
    .set({
      status: { ...status, active: [...active, jobReference(job)], lastScheduleTime: rfc3339(time) },
      resourceVersion: sql`nextval('resource_versions')`,
    })
    .where(eq(objects.id, cj.id));
  return "created";
}

/** Runs one fire; `dueAt` is when its scheduler meant it to run (ms), if it came from one. */
export async function fireCronJob(
  deps: Deps,
  p: JobPayload<"cronjob.fire">,
  dueAt?: number,
): Promise<FireOutcome> {
  const outcome = await withTenant(deps.db, p.tenantId, async (tx) => {
    const cj = await lockedCronJob(tx, p);
    if (!cj) return "gone" as const;
    const event = (e: Event) =>
      recordEvent(tx, {
        tenantId: cj.tenantId,
        clusterId: cj.clusterId,
        objectKind: "CronJob",
        objectName: `${cj.namespace}/${cj.name}`,
        ...e,
      });
    return fireLocked(deps, tx, cj, dueAt, event);
  });
  deps.crashpoint("cronjob.after-commit");
  if (outcome === "created")
    await deps.queues.enqueue("cluster.reconcile", { tenantId: p.tenantId, clusterId: p.clusterId });
  return outcome;
}
