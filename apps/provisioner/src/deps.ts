import type { JobName, Logger, MasterKey } from "@berth/core";
import type { Queues } from "@berth/core/queues";
import type { RedisClient } from "@berth/core/redis";
import type { Db } from "@berth/db";
import type { Registry } from "prom-client";
import type { WebhookSettings } from "./jobs/webhook-deliver";
import type { MachineProvider } from "./providers/types";
import type { ImageResolver } from "./registry/resolver";

export interface Timings {
  nodeLeaseMs: number;
  podEvictionMs: number;
  /** How long a deleting cluster waits for its node agents to leave before it releases them itself. */
  deleteGraceMs: number;
  /** A launched machine whose node has not joined by then is replaced. */
  machineJoinTimeoutMs: number;
  /** A machine whose node is not ready for this long is replaced. */
  machineRepairTimeoutMs: number;
  /** How long a retiring machine's node may take to move its pods away before the machine goes anyway. */
  drainTimeoutMs: number;
}

export interface AutoscalingSettings {
  /** No scale while usage is within this ratio of the target (kube: 0.1). */
  tolerance: number;
  /** A pod's CPU usage is its average over the samples of this last window; older samples make it missing. */
  metricsWindowMs: number;
}

export interface Deps {
  readonly db: Db;
  /** For queues; workers make their own blocking connections from it. */
  readonly redis: RedisClient;
  readonly queues: Queues;
  readonly logger: Logger;
  readonly metrics: Registry;
  readonly master: MasterKey;
  readonly timings: Timings;
  /** Intervals of scheduled jobs that differ from the catalog's `schedule.everyMs` (SWEEP_INTERVAL_MS). */
  readonly scheduleEveryMs: Partial<Record<JobName, number>>;
  readonly reconcileConcurrency: number;
  /** The horizontal pod autoscaler's settings (Kubernetes' --horizontal-pod-autoscaler-* flags). */
  readonly autoscaling: AutoscalingSettings;
  /** How long after a minute its raw samples are taken as all in, for the metrics rollups. */
  readonly metricsLateMs: number;
  /** The platform's token signing key is rotated once it is this old. */
  readonly signingKeyMaxAgeMs: number;
  /**
   * A job whose worker died (kill -9, lost machine) is noticed when its lock lapses and run again;
   * every job is idempotent, so it may be retried after any number of such stalls.
   */
  readonly jobLocks: { lockMs: number; stalledCheckMs: number };
  readonly now: () => Date;
  /** Where machines come from, by provider name; only the configured ones. */
  readonly providers: Partial<Record<"ec2" | "local-vm", MachineProvider>>;
  /** The control API's URL as machines reach it (written into their boot scripts). */
  readonly apiUrl: string;
  /**
   * A named point in a job where tests inject a crash (kill -9 of the whole process) to prove that
   * every step resumes. A no-op unless BERTH_CRASH_AT names it.
   */
  readonly crashpoint: (name: string) => void;
  /** Outgoing webhooks: loopback allowed or not, and one attempt's timeout. */
  readonly webhooks: WebhookSettings;
  /** Berth's registry, whose tags new revisions pin to digests (REGISTRY_HOST); null: none. */
  readonly imageResolver?: ImageResolver | null;
}
