import { z } from "zod";

/**
 * The one catalog of background jobs: name → queue, payload schema, retry policy, deterministic
 * job id, and the policy that used to be special-cased by name elsewhere: how a repeated enqueue
 * is deduplicated, what happens when the job has failed for good, and whether it runs on a
 * schedule. Payloads carry ids, never secrets. The control API enqueues; the provisioner consumes.
 */
const clusterRef = z.object({ tenantId: z.string().min(1), clusterId: z.string().min(1) }).strict();
const empty = z.object({}).strict();
const deliveryRef = z.object({ tenantId: z.string().min(1), deliveryId: z.string().min(1) }).strict();
/**
 * One CronJob's fire. Its job scheduler's jobs carry no time (BullMQ's own `prevMillis` says when
 * they were due); a catch-up of a missed schedule names the time it makes up for.
 */
const cronJobFire = clusterRef
  .extend({ cronJobId: z.string().min(1), scheduledAt: z.iso.datetime().optional() })
  .strict();

/**
 * How a second enqueue of the same job (same job id) is handled:
 * - `jobId`: it is the same job; while one is waiting, running or delayed, nothing is added.
 * - `keepLastIfActive`: for level-triggered reconciles; while one runs, exactly one follow-up is
 *   kept waiting, so a change made during the run is never lost (BullMQ deduplication).
 */
export type Dedupe = "jobId" | "keepLastIfActive";

export interface JobSpec {
  readonly queue: string;
  readonly payload: z.ZodType;
  readonly attempts: number;
  readonly backoffMs: number;
  readonly jobId: (payload: never) => string;
  readonly dedupe: Dedupe;
  /**
   * The consumer's hook, by name, run once the job has failed for good: its last attempt failed,
   * or it failed with a permanent error (`retryable: false`), which is never retried.
   */
  readonly onExhausted?: string;
  /**
   * Runs by itself: every `everyMs` (one job scheduler across all replicas; the payload is empty),
   * or once per object of a kind (one job scheduler per object, named by `schedulerId`, with the
   * object's own cron pattern and time zone; the sweep keeps the schedulers in step with the objects).
   */
  readonly schedule?: Schedule;
}

export type Schedule =
  | { readonly everyMs: number }
  | { readonly perObject: "CronJob"; readonly schedulerId: (payload: never) => string };

export const JOBS = {
  "cluster.provision": {
    queue: "clusters",
    payload: clusterRef,
    attempts: 10,
    backoffMs: 1_000,
    jobId: (p: z.infer<typeof clusterRef>) => `provision-${p.clusterId}`,
    dedupe: "jobId",
    onExhausted: "failClusterProvisioning",
  },
  "cluster.delete": {
    queue: "clusters",
    payload: clusterRef,
    attempts: 20,
    backoffMs: 1_000,
    jobId: (p: z.infer<typeof clusterRef>) => `delete-${p.clusterId}`,
    dedupe: "jobId",
  },
  "cluster.reconcile": {
    queue: "reconcile",
    payload: clusterRef,
    attempts: 3,
    backoffMs: 500,
    jobId: (p: z.infer<typeof clusterRef>) => `reconcile-${p.clusterId}`,
    dedupe: "keepLastIfActive",
  },
  "cluster.rotate-key": {
    queue: "clusters",
    payload: clusterRef,
    attempts: 10,
    backoffMs: 1_000,
    jobId: (p: z.infer<typeof clusterRef>) => `rotate-${p.clusterId}`,
    dedupe: "jobId",
  },
  "machines.reconcile": {
    queue: "machines",
    payload: clusterRef,
    attempts: 5,
    backoffMs: 1_000,
    jobId: (p: z.infer<typeof clusterRef>) => `machines-${p.clusterId}`,
    dedupe: "keepLastIfActive",
  },
  "maintenance.sweep": {
    queue: "sweep",
    payload: empty,
    attempts: 1,
    backoffMs: 0,
    jobId: () => "maintenance",
    dedupe: "jobId",
    schedule: { everyMs: 60_000 },
  },
  "reconcile.sweep": {
    queue: "sweep",
    payload: empty,
    attempts: 1,
    backoffMs: 0,
    jobId: () => "sweep",
    dedupe: "jobId",
    // SWEEP_INTERVAL_MS overrides it (the provisioner's Deps.scheduleEveryMs).
    schedule: { everyMs: 2_000 },
  },
  // Metering (README, "Metering and billing"): each is idempotent, so a rerun or a crash mid-run
  // changes nothing; one scheduler each across all replicas.
  "usage.derive": {
    queue: "metering",
    payload: empty,
    attempts: 1,
    backoffMs: 0,
    jobId: () => "usage-derive",
    dedupe: "jobId",
    schedule: { everyMs: 60_000 },
  },
  "usage.rollup": {
    queue: "metering",
    payload: empty,
    attempts: 1,
    backoffMs: 0,
    jobId: () => "usage-rollup",
    dedupe: "jobId",
    schedule: { everyMs: 15_000 },
  },
  "invoices.finalize": {
    queue: "metering",
    payload: empty,
    attempts: 1,
    backoffMs: 0,
    jobId: () => "invoices-finalize",
    dedupe: "jobId",
    schedule: { everyMs: 300_000 },
  },
  // Budgets (README, "Budgets and webhooks"): every alert is a unique row written with its event
  // and its webhook deliveries in one transaction, so a rerun or a crash fires nothing twice.
  "budgets.evaluate": {
    queue: "metering",
    payload: empty,
    attempts: 1,
    backoffMs: 0,
    jobId: () => "budgets-evaluate",
    dedupe: "jobId",
    // BUDGETS_INTERVAL_MS overrides it.
    schedule: { everyMs: 300_000 },
  },
  // One webhook delivery: 8 attempts, 5 s, 10 s, 20 s … 320 s apart (about 10½ minutes in all);
  // the delivery row keeps each attempt's outcome, and one that has succeeded is never sent again.
  "webhook.deliver": {
    queue: "webhooks",
    payload: deliveryRef,
    attempts: 8,
    backoffMs: 5_000,
    jobId: (p: z.infer<typeof deliveryRef>) => `webhook-${p.deliveryId}`,
    dedupe: "jobId",
    onExhausted: "failWebhookDelivery",
  },
  "metrics.rollup": {
    queue: "metrics",
    payload: empty,
    attempts: 1,
    backoffMs: 0,
    jobId: () => "metrics-rollup",
    dedupe: "jobId",
    // METRICS_ROLLUP_INTERVAL_MS overrides it.
    schedule: { everyMs: 60_000 },
  },
  "hpa.sync": {
    queue: "autoscale",
    payload: empty,
    attempts: 1,
    backoffMs: 0,
    jobId: () => "hpa-sync",
    dedupe: "jobId",
    // HPA_SYNC_PERIOD_MS overrides it (Kubernetes' --horizontal-pod-autoscaler-sync-period).
    schedule: { everyMs: 15_000 },
  },
  "nodes.autoscale": {
    queue: "autoscale",
    payload: empty,
    attempts: 1,
    backoffMs: 0,
    jobId: () => "nodes-autoscale",
    dedupe: "jobId",
    // NODE_AUTOSCALER_INTERVAL_MS overrides it (the cluster autoscaler's --scan-interval).
    schedule: { everyMs: 10_000 },
  },
  "cronjob.fire": {
    queue: "cron",
    payload: cronJobFire,
    attempts: 10,
    backoffMs: 1_000,
    // Catch-ups of the same schedule time are one job (its time in ms: BullMQ ids may not hold
    // colons); the scheduler's own jobs have BullMQ's ids.
    jobId: (p: z.infer<typeof cronJobFire>) =>
      `cronjob-${p.cronJobId}-${p.scheduledAt ? Date.parse(p.scheduledAt) : "now"}`,
    dedupe: "jobId",
    onExhausted: "reportCronJobFireFailed",
    schedule: {
      perObject: "CronJob",
      schedulerId: (p: Pick<z.infer<typeof cronJobFire>, "cronJobId">) => `cronjob-${p.cronJobId}`,
    },
  },
} as const satisfies Record<string, JobSpec>;

export type JobName = keyof typeof JOBS;
export type JobPayload<N extends JobName> = z.infer<(typeof JOBS)[N]["payload"]>;
export type QueueName = (typeof JOBS)[JobName]["queue"];
export const QUEUE_NAMES: readonly QueueName[] = [...new Set(Object.values(JOBS).map((j) => j.queue))];
export const JOB_NAMES = Object.keys(JOBS) as JobName[];

/** A catalog entry seen through the common shape (for code that reads policy, not payload types). */
export function jobSpec(name: JobName): JobSpec {
  return JOBS[name];
}

/** The names of the consumer's exhausted-retry hooks the catalog refers to. */
export type ExhaustedHook = {
  [N in JobName]: (typeof JOBS)[N] extends { onExhausted: infer H extends string } ? H : never;
}[JobName];
/** The jobs whose exhausted-retry hook is `H` (its handler takes their payload). */
export type JobsExhaustedBy<H extends ExhaustedHook> = {
  [N in JobName]: (typeof JOBS)[N] extends { onExhausted: H } ? N : never;
}[JobName];

/** Whether a catalog entry runs every so often by itself (one scheduler, empty payload). */
export function isEverySchedule(s: Schedule | undefined): s is { readonly everyMs: number } {
  return s !== undefined && "everyMs" in s;
}

/** The id of the job scheduler of one object of a per-object scheduled job (a CronJob's: `cronjob-<id>`). */
export function schedulerIdFor<N extends JobName>(name: N, payload: Partial<JobPayload<N>>): string {
  const s = jobSpec(name).schedule;
  if (!s || isEverySchedule(s)) throw new Error(`${name} has no per-object schedule`);
  return (s.schedulerId as (p: Partial<JobPayload<N>>) => string)(payload);
}

export function jobIdFor<N extends JobName>(name: N, payload: JobPayload<N>): string {
  const spec = JOBS[name];
  return (spec.jobId as (p: JobPayload<N>) => string)(payload);
}
