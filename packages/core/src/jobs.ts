import { z } from "zod";

/**
 * The one catalog of background jobs: name → queue, payload schema, retry policy and deterministic
 * job id. Payloads carry ids, never secrets. The control API enqueues; the provisioner consumes.
 */
const clusterRef = z.object({ tenantId: z.string().min(1), clusterId: z.string().min(1) }).strict();

export const JOBS = {
  "cluster.provision": {
    queue: "clusters",
    payload: clusterRef,
    attempts: 10,
    backoffMs: 1_000,
    jobId: (p: z.infer<typeof clusterRef>) => `provision-${p.clusterId}`,
  },
  "cluster.delete": {
    queue: "clusters",
    payload: clusterRef,
    attempts: 20,
    backoffMs: 1_000,
    jobId: (p: z.infer<typeof clusterRef>) => `delete-${p.clusterId}`,
  },
  "cluster.reconcile": {
    queue: "reconcile",
    payload: clusterRef,
    attempts: 3,
    backoffMs: 500,
    jobId: (p: z.infer<typeof clusterRef>) => `reconcile-${p.clusterId}`,
  },
  "cluster.rotate-key": {
    queue: "clusters",
    payload: clusterRef,
    attempts: 10,
    backoffMs: 1_000,
    jobId: (p: z.infer<typeof clusterRef>) => `rotate-${p.clusterId}`,
  },
  "machines.reconcile": {
    queue: "machines",
    payload: clusterRef,
    attempts: 5,
    backoffMs: 1_000,
    jobId: (p: z.infer<typeof clusterRef>) => `machines-${p.clusterId}`,
  },
  "maintenance.sweep": {
    queue: "sweep",
    payload: z.object({}).strict(),
    attempts: 1,
    backoffMs: 0,
    jobId: () => "maintenance",
  },
  "reconcile.sweep": {
    queue: "sweep",
    payload: z.object({}).strict(),
    attempts: 1,
    backoffMs: 0,
    jobId: () => "sweep",
  },
} as const;

export type JobName = keyof typeof JOBS;
export type JobPayload<N extends JobName> = z.infer<(typeof JOBS)[N]["payload"]>;
export type QueueName = (typeof JOBS)[JobName]["queue"];
export const QUEUE_NAMES: readonly QueueName[] = [...new Set(Object.values(JOBS).map((j) => j.queue))];

export function jobIdFor<N extends JobName>(name: N, payload: JobPayload<N>): string {
  const spec = JOBS[name];
  return (spec.jobId as (p: JobPayload<N>) => string)(payload);
}
