import {
  isEverySchedule,
  JOB_NAMES,
  JOBS,
  type JobName,
  type JobPayload,
  jobIdFor,
  jobSpec,
  QUEUE_NAMES,
  type QueueName,
} from "@berth/core";
import { duplicateRedis } from "@berth/core/redis";
import { rollupMetrics } from "@berth/db";
import { DelayedError, type Job, UnrecoverableError, Worker } from "bullmq";
import { Counter, Histogram } from "prom-client";
import { syncVolumes } from "./controllers/volumes";
import type { Deps } from "./deps";
import { settleFailure } from "./exhausted";
import { isPermanent } from "./failures";
import { evaluateAllBudgets } from "./jobs/budgets";
import { syncCronSchedulers } from "./jobs/cron-schedulers";
import { deleteCluster } from "./jobs/delete-cluster";
import { fireCronJob } from "./jobs/fire-cronjob";
import { syncAutoscalers } from "./jobs/hpa-sync";
import { maintenance } from "./jobs/maintenance";
import { deriveUsage, finalizeDueInvoices, rollupUsage } from "./jobs/metering";
import { autoscaleAllNodes } from "./jobs/node-autoscale";
import { provisionCluster } from "./jobs/provision-cluster";
import { reconcileCluster } from "./jobs/reconcile-cluster";
import { reconcileMachines } from "./jobs/reconcile-machines";
import { rotateClusterKey } from "./jobs/rotate-cluster-key";
import { sweep } from "./jobs/sweep";
import { deliverWebhook } from "./jobs/webhook-deliver";

type Handler<N extends JobName> = (
  deps: Deps,
  payload: JobPayload<N>,
  job: Job,
  token: string | undefined,
) => Promise<unknown>;

/** Every job of the catalog has exactly one handler (a missing one fails to compile). */
const handlers: { [N in JobName]: Handler<N> } = {
  "cluster.provision": (deps, p) => provisionCluster(deps, p),
  "cluster.delete": async (deps, p, job, token) => {
    const progress = await deleteCluster(deps, p);
    if (progress === "machines") await deps.queues.enqueue("machines.reconcile", p);
    if (progress !== "done") {
      // Agents are leaving or instances terminating: come back in a second without spending an attempt.
      await job.moveToDelayed(Date.now() + 1_000, token);
      throw new DelayedError();
    }
  },
  "cluster.reconcile": async (deps, p) => {
    const result = await reconcileCluster(deps, p);
    // A deployment was rolled back, or its new revision's pins were missed: the next pass at once.
    if (result.pending) await deps.queues.enqueue("cluster.reconcile", p);
    // Claims' disks follow their pods (QEMU is asked outside the pass's transaction).
    const volumes = await syncVolumes(deps, p);
    if (volumes.pending && !result.pending)
      await deps.queues.enqueue("cluster.reconcile", p, { delayMs: 1_000 });
    return { ...result, volumesPending: volumes.pending };
  },
  "cluster.rotate-key": (deps, p) => rotateClusterKey(deps, p),
  "machines.reconcile": async (deps, p) => {
    const result = await reconcileMachines(deps, p);
    // Launches and terminations in flight are confirmed by looking again shortly.
    if (result.pending) await deps.queues.enqueue("machines.reconcile", p, { delayMs: 1_000 });
    return result;
  },
  "reconcile.sweep": (deps) => sweep(deps),
  "maintenance.sweep": (deps) => maintenance(deps),
  "usage.derive": (deps) => deriveUsage(deps),
  "usage.rollup": (deps) => rollupUsage(deps),
  "invoices.finalize": (deps) => finalizeDueInvoices(deps),
  "budgets.evaluate": (deps) => evaluateAllBudgets(deps),
  "webhook.deliver": (deps, p) => deliverWebhook(deps, p),
  "metrics.rollup": (deps) => rollupMetrics(deps.db, deps.now(), { lateMs: deps.metricsLateMs }),
  "hpa.sync": (deps) => syncAutoscalers(deps),
  "nodes.autoscale": (deps) => autoscaleAllNodes(deps),
  // A scheduler's fire says when it was due (BullMQ's prevMillis); a catch-up names its time.
  "cronjob.fire": (deps, p, job) =>
    fireCronJob(deps, p, job.opts.prevMillis ?? (p.scheduledAt ? Date.parse(p.scheduledAt) : undefined)),
};

const CONCURRENCY: Record<QueueName, (deps: Deps) => number> = {
  clusters: () => 4,
  reconcile: (deps) => deps.reconcileConcurrency,
  machines: () => 4,
  sweep: () => 1,
  cron: () => 2,
  metering: () => 1,
  metrics: () => 1,
  autoscale: () => 1,
  webhooks: () => 4,
};

export interface Workers {
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function createWorkers(deps: Deps): Workers {
  const processed = new Counter({
    name: "berth_jobs_total",
    help: "Jobs processed by name and result",
    labelNames: ["job", "result"],
    registers: [deps.metrics],
  });
  const duration = new Histogram({
    name: "berth_job_duration_seconds",
    help: "Job run time by name",
    labelNames: ["job"],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [deps.metrics],
  });
  const workers: Worker[] = [];

  async function process(job: Job, token: string | undefined): Promise<unknown> {
    const name = job.name as JobName;
    const spec = JOBS[name];
    if (!spec) throw new UnrecoverableError(`unknown job ${job.name}`);
    const parsed = spec.payload.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`invalid payload for ${name}: ${parsed.error.message}`);
    const started = performance.now();
    try {
      const out = await (handlers[name] as Handler<typeof name>)(deps, parsed.data as never, job, token);
      processed.inc({ job: name, result: "ok" });
      return out;
    } catch (error) {
      if (error instanceof DelayedError) {
        processed.inc({ job: name, result: "delayed" });
        throw error;
      }
      const permanent = isPermanent(error);
      processed.inc({ job: name, result: permanent ? "failed" : "error" });
      deps.logger.warn(
        { err: error, job: name, jobId: job.id, attempt: job.attemptsMade + 1, permanent },
        permanent ? "job failed for good: not retried" : "job failed",
      );
      throw await settleFailure(
        deps,
        { name, payload: parsed.data, attemptsMade: job.attemptsMade, attempts: job.opts.attempts ?? 1 },
        error,
      );
    } finally {
      duration.observe({ job: name }, (performance.now() - started) / 1000);
    }
  }

  return {
    async start() {
      for (const queue of QUEUE_NAMES) {
        const worker = new Worker(queue, process, {
          // Blocking reads wait for jobs: no per-command timeout, and commands wait out a reconnection
          // (whatever the connection they are duplicated from does, e.g. the API's fail-fast one).
          connection: duplicateRedis(deps.redis, {
            maxRetriesPerRequest: null,
            enableOfflineQueue: true,
            commandTimeout: undefined,
          }),
          prefix: deps.queues.prefix,
          concurrency: CONCURRENCY[queue](deps),
          lockDuration: deps.jobLocks.lockMs,
          stalledInterval: deps.jobLocks.stalledCheckMs,
          maxStalledCount: 1_000,
          skipVersionCheck: true,
        });
        worker.on("error", (err) => deps.logger.error({ err, queue }, "worker error"));
        workers.push(worker);
      }
      await Promise.all(workers.map((w) => w.waitUntilReady()));
      // Scheduled jobs, as the catalog lists them (one scheduler each across all replicas).
      for (const name of JOB_NAMES) {
        const spec = jobSpec(name);
        if (!isEverySchedule(spec.schedule)) continue;
        const data = spec.payload.parse({}) as JobPayload<typeof name>;
        await deps.queues
          .get(spec.queue as QueueName)
          .upsertJobScheduler(
            jobIdFor(name, data),
            { every: deps.scheduleEveryMs[name] ?? spec.schedule.everyMs },
            { name, data },
          );
      }
      // Per-object schedulers (a CronJob's) and the catch-up of schedules missed while no provisioner ran.
      await syncCronSchedulers(deps).catch((err: unknown) =>
        deps.logger.warn({ err }, "cron job schedulers not synced at start; the sweep retries"),
      );
    },
    async stop() {
      await Promise.all(workers.map((w) => w.close()));
      await Promise.all(workers.map((w) => w.disconnect()));
    },
  };
}
