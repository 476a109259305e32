import {
  type ExhaustedHook,
  type JobName,
  type JobPayload,
  type JobsExhaustedBy,
  jobSpec,
} from "@berth/core";
import { UnrecoverableError } from "bullmq";
import type { Deps } from "./deps";
import { failureMessage, isPermanent } from "./failures";
import { reportCronJobFireFailed } from "./jobs/fire-failed";
import { failClusterProvisioning } from "./jobs/provision-cluster";
import { failWebhookDelivery } from "./jobs/webhook-deliver";

type Hook<H extends ExhaustedHook> = (
  deps: Deps,
  payload: JobPayload<JobsExhaustedBy<H>>,
  message: string,
) => Promise<void>;

/**
 * The hooks the job catalog names in `onExhausted`: each leaves a visible failed state once its
 * job has failed for good. A hook the catalog names and this list lacks fails to compile.
 */
export const EXHAUSTED_HOOKS: { [H in ExhaustedHook]: Hook<H> } = {
  failClusterProvisioning: (deps, p, message) =>
    failClusterProvisioning(deps, p, `provisioning failed: ${message}`),
  reportCronJobFireFailed: (deps, p, message) => reportCronJobFireFailed(deps, p, message),
  failWebhookDelivery: (deps, p) => failWebhookDelivery(deps, p),
};

/** One failed attempt of a job, as the worker saw it. */
export interface FailedAttempt {
  name: JobName;
  payload: unknown;
  /** Attempts made before this one. */
  attemptsMade: number;
  attempts: number;
}

/**
 * What a failed attempt becomes. A permanent error (`retryable: false`) is not retried: it comes
 * back as BullMQ's UnrecoverableError. Once the job has failed for good — a permanent error, or
 * its last attempt — its exhausted-retry hook runs. Returns the error the worker throws.
 */
export async function settleFailure(deps: Deps, attempt: FailedAttempt, error: unknown): Promise<Error> {
  const permanent = isPermanent(error);
  const hook = jobSpec(attempt.name).onExhausted as ExhaustedHook | undefined;
  if (hook && (permanent || attempt.attemptsMade + 1 >= attempt.attempts)) {
    try {
      await (EXHAUSTED_HOOKS[hook] as Hook<ExhaustedHook>)(
        deps,
        attempt.payload as never,
        failureMessage(error),
      );
    } catch (hookError) {
      deps.logger.error({ err: hookError, job: attempt.name, hook }, "the exhausted-retry hook failed");
    }
  }
  if (permanent) return new UnrecoverableError(failureMessage(error));
  return error instanceof Error ? error : new Error(String(error));
}
