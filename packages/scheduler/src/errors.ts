/**
 * Thrown when the snapshot itself cannot be trusted (duplicate ids, capacities that are not
 * integers). The snapshot is Berth's own state, so this is a bug upstream, not a tenant mistake:
 * it maps to core's INTERNAL code and retrying the same input does not help. Bad pending pods are
 * not thrown: they come back as unschedulable with the reason, so one pod cannot stall a cluster.
 */
export class SchedulerInputError extends Error {
  readonly code = "INTERNAL" as const;
  readonly retryable = false;

  constructor(message: string) {
    super(message);
    this.name = "SchedulerInputError";
  }
}
