/**
 * The bounds every resource quantity of a workload is held to, shared by the API that admits
 * workloads, the node agent's join (what a node may offer) and the control loop. A quantity a
 * node can never have, or a limit a container runtime cannot honour, is refused at admission so
 * it never reaches a job.
 */

/** The largest node: what a node agent may offer when it joins (1,024 CPUs, 16 TiB). */
export const NODE_MAX_CPU_MILLIS = 1_024_000;
export const NODE_MAX_MEMORY_BYTES = 2 ** 44;

/**
 * The CFS scheduler's period is 100 ms and its quota cannot be below 1 ms (runc: "cfs quota
 * cannot be less than 1ms"), so no container can be limited to less than a hundredth of a CPU.
 */
export const MIN_CPU_LIMIT_MILLIS = 10;

/** Docker Engine refuses memory limits below 6 MiB ("Minimum memory limit allowed is 6MB"). */
export const MIN_MEMORY_LIMIT_BYTES = 6 * 1024 * 1024;

/** The smallest request the scheduler accepts (below these nothing useful runs). */
export const MIN_CPU_REQUEST_MILLIS = 1;
export const MIN_MEMORY_REQUEST_BYTES = 4 * 1024 * 1024;

/** Requests when a container gives neither a request nor a limit. */
export const DEFAULT_CPU_REQUEST_MILLIS = 100;
export const DEFAULT_MEMORY_REQUEST_BYTES = 128 * 1024 * 1024;

/**
 * A limit may be at most this many times its request (Kubernetes' LimitRange
 * `maxLimitRequestRatio`). The platform's default; a LimitRange per namespace will override it.
 */
export const DEFAULT_MAX_LIMIT_REQUEST_RATIO = { cpu: 4, memory: 4 } as const;

/** A container's writable layer and logs (`ephemeral-storage`): default and bounds. */
export const DEFAULT_EPHEMERAL_STORAGE_BYTES = 1024 ** 3;
export const MIN_EPHEMERAL_STORAGE_BYTES = 1024 ** 2;
export const MAX_EPHEMERAL_STORAGE_BYTES = 1024 ** 4;

/** Replicas of one deployment. */
export const MAX_REPLICAS = 1000;
