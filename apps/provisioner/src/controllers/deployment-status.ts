import type { Condition } from "@berth/db";
import { rfc3339 } from "./pod-state";
import type { PlanPod } from "./rollout";

/**
 * A Deployment's status as Kubernetes' deployment controller computes it (calculateStatus,
 * syncRolloutStatus, checkPausedConditions in progress.go and sync.go): counts of its pods and the
 * conditions `Available` and `Progressing`, whose `lastUpdateTime` is the rollout's progress clock.
 * Pure: the controller hands in the pods after its step and the status it wrote last time.
 */
export type DeploymentCondition = Condition & { lastUpdateTime: string };

export interface DeploymentCounts {
  replicas: number;
  updatedReplicas: number;
  readyReplicas: number;
  availableReplicas: number;
  unavailableReplicas: number;
}

export const REASONS = {
  available: "MinimumReplicasAvailable",
  unavailable: "MinimumReplicasUnavailable",
  created: "NewReplicaSetCreated",
  found: "FoundNewReplicaSet",
  updated: "ReplicaSetUpdated",
  complete: "NewReplicaSetAvailable",
  timedOut: "ProgressDeadlineExceeded",
  paused: "DeploymentPaused",
  resumed: "DeploymentResumed",
} as const;

/** The counts of status over the active pods after this pass's step. */
export function countStatus(active: readonly PlanPod[], hash: string): DeploymentCounts {
  const available = active.filter((p) => p.available).length;
  return {
    replicas: active.length,
    updatedReplicas: active.filter((p) => p.hash === hash).length,
    readyReplicas: active.filter((p) => p.ready).length,
    availableReplicas: available,
    unavailableReplicas: Math.max(0, active.length - available),
  };
}

type NewCondition = Pick<Condition, "type" | "status" | "reason" | "message">;

/**
 * Kubernetes' SetDeploymentCondition: nothing changes while status and reason stay the same; a
 * changed reason keeps `lastTransitionTime` when the status did not flip; the condition moves to
 * the end of the list.
 */
export function setDeploymentCondition(
  conditions: readonly DeploymentCondition[],
  next: NewCondition,
  now: Date,
): DeploymentCondition[] {
  const current = conditions.find((c) => c.type === next.type);
  if (current && current.status === next.status && current.reason === next.reason) return [...conditions];
  const at = rfc3339(now);
  const lastTransitionTime = current && current.status === next.status ? current.lastTransitionTime : at;
  return [
    ...conditions.filter((c) => c.type !== next.type),
    { ...next, lastUpdateTime: at, lastTransitionTime },
  ];
}

export interface RolloutFacts {
  paused: boolean;
  progressDeadlineSeconds: number;
  /** spec.replicas and Kubernetes' MaxUnavailable (0 for Recreate). */
  replicas: number;
  maxUnavailable: number;
  /** The ReplicaSet of the current template (`<deployment>-<hash>`), or null while paused before it exists. */
  replicaSet: string | null;
  /** Whether this pass made that ReplicaSet (its revision). */
  createdReplicaSet: boolean;
  before: DeploymentCounts;
  after: DeploymentCounts;
  /** When the rollout last made progress (deployments.progressAt), if known. */
  progressAt: Date | null;
}

const PROGRESSING = "Progressing";

/** Every replica updated and available (Kubernetes' DeploymentComplete). */
export function rolloutComplete(f: Pick<RolloutFacts, "replicas" | "after">): boolean {
  return (
    f.after.updatedReplicas === f.replicas &&
    f.after.replicas === f.replicas &&
    f.after.availableReplicas === f.replicas
  );
}

/** Kubernetes' DeploymentProgressing: more updated, fewer old, more ready or more available pods. */
function madeProgress(before: DeploymentCounts, after: DeploymentCounts): boolean {
  return (
    after.updatedReplicas > before.updatedReplicas ||
    after.replicas - after.updatedReplicas < before.replicas - before.updatedReplicas ||
    after.readyReplicas > before.readyReplicas ||
    after.availableReplicas > before.availableReplicas
  );
}

/**
 * The conditions after this pass, and the progress clock (the Progressing condition's
 * `lastUpdateTime`, to the millisecond). `conditions` are the deployment's current ones.
 */
export function deploymentConditions(
  conditions: readonly DeploymentCondition[],
  f: RolloutFacts,
  now: Date,
): { conditions: DeploymentCondition[]; progressAt: Date | null } {
  let out = [...conditions];
  let progressAt = f.progressAt;
  const progressing = () => out.find((c) => c.type === PROGRESSING);
  const setProgressing = (next: Omit<NewCondition, "type">) => {
    const before = progressing();
    out = setDeploymentCondition(out, { type: PROGRESSING, ...next }, now);
    if (progressing() !== before) progressAt = now;
  };

  out = setDeploymentCondition(
    out,
    f.after.availableReplicas >= f.replicas - f.maxUnavailable
      ? {
          type: "Available",
          status: "True",
          reason: REASONS.available,
          message: "Deployment has minimum availability.",
        }
      : {
          type: "Available",
          status: "False",
          reason: REASONS.unavailable,
          message: "Deployment does not have minimum availability.",
        },
    now,
  );

  // checkPausedConditions: a rollout that already timed out keeps saying so.
  const current = progressing();
  if (current?.reason !== REASONS.timedOut) {
    if (f.paused && current?.reason !== REASONS.paused)
      setProgressing({ status: "Unknown", reason: REASONS.paused, message: "Deployment is paused" });
    else if (!f.paused && current?.reason === REASONS.paused)
      setProgressing({ status: "Unknown", reason: REASONS.resumed, message: "Deployment is resumed" });
  }
  if (f.paused || !f.replicaSet) return { conditions: out, progressAt };

  const rs = JSON.stringify(f.replicaSet);
  if (f.createdReplicaSet)
    setProgressing({ status: "True", reason: REASONS.created, message: `Created new replica set ${rs}` });
  else if (!progressing())
    setProgressing({ status: "True", reason: REASONS.found, message: `Found new replica set ${rs}` });

  // syncRolloutStatus
  const cond = progressing();
  const finished = f.after.replicas === f.after.updatedReplicas && cond?.reason === REASONS.complete;
  if (finished) return { conditions: out, progressAt };
  if (rolloutComplete(f))
    setProgressing({
      status: "True",
      reason: REASONS.complete,
      message: `ReplicaSet ${rs} has successfully progressed.`,
    });
  else if (madeProgress(f.before, f.after)) {
    // Progress moves lastUpdateTime even when the reason stays ReplicaSetUpdated.
    const at = rfc3339(now);
    const kept = cond?.status === "True" ? cond.lastTransitionTime : at;
    out = [
      ...out.filter((c) => c.type !== PROGRESSING),
      {
        type: PROGRESSING,
        status: "True",
        reason: REASONS.updated,
        message: `ReplicaSet ${rs} is progressing.`,
        lastUpdateTime: at,
        lastTransitionTime: kept,
      },
    ];
    progressAt = now;
  } else if (timedOut(cond, progressAt, f.progressDeadlineSeconds, now))
    setProgressing({
      status: "False",
      reason: REASONS.timedOut,
      message: `ReplicaSet ${rs} has timed out progressing.`,
    });
  return { conditions: out, progressAt };
}

/** Kubernetes' DeploymentTimedOut, counting from the progress clock. */
function timedOut(
  cond: DeploymentCondition | undefined,
  progressAt: Date | null,
  deadlineSeconds: number,
  now: Date,
): boolean {
  if (!cond || cond.reason === REASONS.complete) return false;
  if (cond.reason === REASONS.timedOut) return true;
  const from = progressAt?.getTime() ?? Date.parse(cond.lastUpdateTime);
  return from + deadlineSeconds * 1000 < now.getTime();
}
