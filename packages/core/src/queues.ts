import { type JobsOptions, Queue } from "bullmq";
import { JOBS, type JobName, type JobPayload, jobIdFor, QUEUE_NAMES, type QueueName } from "./jobs";
import type { RedisClient } from "./redis";

/** The BullMQ queues of the job catalog, sharing one Redis connection and one key prefix. */
export interface Queues {
  readonly prefix: string;
  get(name: QueueName): Queue;
  enqueue<N extends JobName>(name: N, payload: JobPayload<N>, opts?: { delayMs?: number }): Promise<void>;
  close(): Promise<void>;
}

/**
 * The BullMQ options of a catalog job: its attempts and back-off; finished jobs are not kept
 * (job ids are deterministic: one left behind would swallow the next enqueue of the same work).
 */
export function jobOptions(name: JobName): JobsOptions {
  const spec = JOBS[name];
  return {
    attempts: spec.attempts,
    backoff: { type: "exponential", delay: spec.backoffMs },
    removeOnComplete: true,
    removeOnFail: true,
  };
}

export function createQueues(connection: RedisClient, prefix: string): Queues {
  const queues = new Map<QueueName, Queue>(
    QUEUE_NAMES.map((q) => [q, new Queue(q, { connection, prefix, skipVersionCheck: true })]),
  );
  const get = (name: QueueName): Queue => {
    const q = queues.get(name);
    if (!q) throw new Error(`unknown queue ${name}`);
    return q;
  };
  return {
    prefix,
    get,
    async enqueue(name, payload, opts = {}) {
      const spec = JOBS[name];
      const data = spec.payload.parse(payload);
      const id = jobIdFor(name, payload);
      const options: JobsOptions = { ...jobOptions(name), ...(opts.delayMs ? { delay: opts.delayMs } : {}) };
      // The catalog says how a repeated enqueue is deduplicated (see `Dedupe`).
      if (spec.dedupe === "keepLastIfActive") options.deduplication = { id, keepLastIfActive: true };
      else options.jobId = id;
      await get(spec.queue).add(name, data, options);
    },
    async close() {
      await Promise.all([...queues.values()].map((q) => q.close()));
    },
  };
}
