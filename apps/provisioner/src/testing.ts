import { createLogger, createMetricsRegistry, type MasterKey } from "@berth/core";
import type { Queues } from "@berth/core/queues";
import type { RedisClient } from "@berth/core/redis";
import type { Db } from "@berth/db";
import { testLogLevel } from "@berth/db/testing";
import type { Deps, Timings } from "./deps";

/** Scheduled jobs run more often in tests. */
export const TEST_SCHEDULES: Deps["scheduleEveryMs"] = {
  "reconcile.sweep": 500,
  "metrics.rollup": 5_000,
  "hpa.sync": 1_000,
  "nodes.autoscale": 1_000,
  "budgets.evaluate": 1_000,
};

import { createWorkers, type Workers } from "./workers";

export const TEST_TIMINGS: Timings = {
  nodeLeaseMs: 3_000,
  podEvictionMs: 5_000,
  deleteGraceMs: 20_000,
  machineJoinTimeoutMs: 60_000,
  machineRepairTimeoutMs: 8_000,
  drainTimeoutMs: 10_000,
};

/** Provisioner deps over a test's own database, Redis connection and queue prefix. */
export function createTestProvisionerDeps(shared: {
  db: Db;
  redis: RedisClient;
  queues: Queues;
  master: MasterKey;
  timings?: Partial<Timings>;
  /** Scheduled jobs' intervals that differ from TEST_SCHEDULES. */
  schedules?: Partial<Deps["scheduleEveryMs"]>;
  now?: () => Date;
  providers?: Deps["providers"];
  apiUrl?: string;
  autoscaling?: Partial<Deps["autoscaling"]>;
  /** Default: loopback allowed (tests' receivers listen on 127.0.0.1), 5 s per attempt. */
  webhooks?: Partial<Deps["webhooks"]>;
  /** Berth's registry, whose tags new revisions pin (default: none). */
  imageResolver?: Deps["imageResolver"];
}): Deps {
  return {
    db: shared.db,
    redis: shared.redis,
    queues: shared.queues,
    master: shared.master,
    logger: createLogger("provisioner", testLogLevel()),
    metrics: createMetricsRegistry("provisioner"),
    timings: { ...TEST_TIMINGS, ...shared.timings },
    scheduleEveryMs: { ...TEST_SCHEDULES, ...shared.schedules },
    reconcileConcurrency: 2,
    autoscaling: { tolerance: 0.1, metricsWindowMs: 10_000, ...shared.autoscaling },
    metricsLateMs: 5_000,
    signingKeyMaxAgeMs: 7 * 24 * 3_600_000,
    jobLocks: { lockMs: 10_000, stalledCheckMs: 2_000 },
    now: shared.now ?? (() => new Date()),
    providers: shared.providers ?? {},
    apiUrl: shared.apiUrl ?? "http://127.0.0.1:8080",
    crashpoint: () => {},
    webhooks: { allowLoopback: true, timeoutMs: 5_000, ...shared.webhooks },
    imageResolver: shared.imageResolver ?? null,
  };
}

/** The real provisioner's workers, running in the test's process. */
export async function startTestProvisioner(deps: Deps): Promise<Workers> {
  const workers = createWorkers(deps);
  await workers.start();
  return workers;
}

export { createImageResolver, type ImageResolver } from "./registry/resolver";
