import type { JobName, JobPayload } from "@berth/core";
import type { Deps } from "../deps";

/**
 * Asks the provisioner to act now. The change it reacts to is already committed, and the
 * provisioner's sweep finds every cluster that needs work within seconds, so a failed enqueue
 * (Redis unreachable) only delays the work: it is logged, not returned to the user as an error.
 */
export async function kick<N extends JobName>(deps: Deps, name: N, payload: JobPayload<N>): Promise<void> {
  try {
    await deps.queues.enqueue(name, payload);
  } catch (error) {
    deps.logger.warn(
      { err: error, job: name, payload: payload as object },
      "enqueue failed; the sweep will pick the work up",
    );
  }
}
