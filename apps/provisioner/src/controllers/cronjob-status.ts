import type { ObjectRow } from "./job-pods";

/**
 * A CronJob's status in Kubernetes' shape (batch/v1 CronJobStatus): references to its running
 * Jobs, when a Job was last scheduled and when one last succeeded. And how a Job names its CronJob.
 */
export interface JobReference {
  apiVersion: "batch/v1";
  kind: "Job";
  name: string;
  namespace: string;
  uid: string;
}

export interface CronJobStatus {
  active: JobReference[];
  lastScheduleTime?: string;
  lastSuccessfulTime?: string;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);
const time = (v: unknown): string | undefined =>
  typeof v === "string" && !Number.isNaN(Date.parse(v)) ? v : undefined;

export function cronJobStatusOf(raw: Record<string, unknown>): CronJobStatus {
  const active = Array.isArray(raw.active)
    ? raw.active.filter(
        (r): r is JobReference => isObject(r) && typeof r.uid === "string" && typeof r.name === "string",
      )
    : [];
  const lastScheduleTime = time(raw.lastScheduleTime);
  const lastSuccessfulTime = time(raw.lastSuccessfulTime);
  return {
    active,
    ...(lastScheduleTime ? { lastScheduleTime } : {}),
    ...(lastSuccessfulTime ? { lastSuccessfulTime } : {}),
  };
}

export const jobReference = (job: Pick<ObjectRow, "name" | "namespace" | "id">): JobReference => ({
  apiVersion: "batch/v1",
  kind: "Job",
  name: job.name,
  namespace: job.namespace,
  uid: job.id,
});

/** The controller reference a CronJob's Jobs carry. */
export const cronJobOwnerReference = (cj: Pick<ObjectRow, "name" | "id">) => ({
  apiVersion: "batch/v1",
  kind: "CronJob",
  name: cj.name,
  uid: cj.id,
  controller: true,
  blockOwnerDeletion: true,
});

/** Whether a Job is controlled by this CronJob (Kubernetes' metav1.IsControlledBy). */
export function controlledBy(job: Pick<ObjectRow, "ownerReferences" | "namespace">, cj: ObjectRow): boolean {
  return (
    job.namespace === cj.namespace &&
    job.ownerReferences.some((r) => r.kind === "CronJob" && r.uid === cj.id && r.controller === true)
  );
}
