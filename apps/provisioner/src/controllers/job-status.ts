import type { JobSpec } from "@berth/kube";
import type { PodRow } from "./loop";
import { rfc3339 } from "./pod-state";

/**
 * A Job's status and conditions in Kubernetes' shape (batch/v1 JobStatus), and the pure rules of
 * Kubernetes' job controller the Berth one follows: finished conditions, the back-off before
 * failed pods are replaced, the backoff limit of `restartPolicy: OnFailure` pods.
 */
export interface JobCondition {
  type: "Complete" | "Failed" | "Suspended";
  status: "True" | "False";
  lastProbeTime: string;
  lastTransitionTime: string;
  reason: string;
  message: string;
}

export interface JobStatus {
  active: number;
  ready: number;
  succeeded: number;
  failed: number;
  startTime?: string;
  completionTime?: string;
  conditions: JobCondition[];
}

/** The finalizer a Job's pods carry until the Job has counted them (Kubernetes' own name). */
export const JOB_TRACKING_FINALIZER = "batch.kubernetes.io/job-tracking";

const count = (v: unknown): number => (typeof v === "number" && Number.isInteger(v) && v >= 0 ? v : 0);
const time = (v: unknown): string | undefined =>
  typeof v === "string" && !Number.isNaN(Date.parse(v)) ? v : undefined;

/** A stored status read leniently (a new Job has `{}`). */
export function jobStatusOf(raw: Record<string, unknown>): JobStatus {
  const startTime = time(raw.startTime);
  const completionTime = time(raw.completionTime);
  return {
    active: count(raw.active),
    ready: count(raw.ready),
    succeeded: count(raw.succeeded),
    failed: count(raw.failed),
    ...(startTime ? { startTime } : {}),
    ...(completionTime ? { completionTime } : {}),
    conditions: Array.isArray(raw.conditions) ? (raw.conditions as JobCondition[]) : [],
  };
}

/** Kubernetes' newCondition. */
export function newJobCondition(
  type: JobCondition["type"],
  status: JobCondition["status"],
  reason: string,
  message: string,
  now: Date,
): JobCondition {
  const at = rfc3339(now);
  return { type, status, lastProbeTime: at, lastTransitionTime: at, reason, message };
}

/** Kubernetes' ensureJobConditionStatus: the condition changed (or was added), and whether it did. */
export function ensureJobCondition(
  list: readonly JobCondition[],
  type: JobCondition["type"],
  status: JobCondition["status"],
  reason: string,
  message: string,
  now: Date,
): { conditions: JobCondition[]; changed: boolean } {
  const current = list.find((c) => c.type === type);
  if (current) {
    if (current.status === status && current.reason === reason && current.message === message)
      return { conditions: [...list], changed: false };
    const next = newJobCondition(type, status, reason, message, now);
    return { conditions: list.map((c) => (c === current ? next : c)), changed: true };
  }
  if (status === "False") return { conditions: [...list], changed: false };
  return { conditions: [...list, newJobCondition(type, status, reason, message, now)], changed: true };
}

/** The Complete or Failed condition of a finished Job. */
export function finishedCondition(s: JobStatus): JobCondition | undefined {
  return s.conditions.find((c) => (c.type === "Complete" || c.type === "Failed") && c.status === "True");
}

/** When a pod's containers ended: its node's word, or its containers' last termination. */
export function finishedAt(p: Pick<PodRow, "stoppedAt" | "containerStatuses" | "createdAt">): number {
  if (p.stoppedAt) return p.stoppedAt.getTime();
  const ends = (p.containerStatuses ?? [])
    .map((c) => Date.parse(c.state.terminated?.finishedAt ?? ""))
    .filter((t) => !Number.isNaN(t));
  return ends.length > 0 ? Math.max(...ends) : p.createdAt.getTime();
}

export const BACKOFF_BASE_MS = 10_000;
export const BACKOFF_MAX_MS = 360_000;

/**
 * When the Job may create pods again after failures (Kubernetes' pod failure back-off): 10 s after
 * the first failure since the last success, doubling per further failure, at most 6 minutes.
 * Null when no failure holds it back.
 */
export function backoffUntil(finished: readonly PodRow[]): number | null {
  const lastSuccess = Math.max(0, ...finished.filter((p) => p.phase === "Succeeded").map(finishedAt));
  const failures = finished.filter((p) => p.phase === "Failed").map(finishedAt);
  const since = failures.filter((t) => t > lastSuccess);
  if (since.length === 0) return null;
  const delay = Math.min(BACKOFF_BASE_MS * 2 ** (since.length - 1), BACKOFF_MAX_MS);
  return Math.max(...since) + delay;
}

/**
 * Kubernetes' pastBackoffLimitOnFailure: with `restartPolicy: OnFailure` a failing container is
 * restarted in its pod, so the restarts of the active pods count against `backoffLimit`.
 */
export function pastBackoffLimitOnFailure(spec: JobSpec, active: readonly PodRow[]): boolean {
  if (spec.template.restartPolicy !== "OnFailure") return false;
  const restarts = active.reduce((n, p) => n + p.restarts, 0);
  return spec.backoffLimit === 0 ? restarts > 0 : restarts >= spec.backoffLimit;
}
