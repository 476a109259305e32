import { z } from "zod";
import { objectId } from "./strings";

/** How often an agent samples its containers and its node, unless told otherwise. */
export const METRICS_SAMPLE_INTERVAL_MS = 10_000;
/** Samples per batch the control plane takes (a node of 1,000 pods fits, with room for a few windows). */
export const MAX_METRIC_SAMPLES_PER_BATCH = 5_000;
/** Windows a batch may carry for the node itself (an agent that was cut off sends what it kept). */
export const MAX_NODE_SAMPLES_PER_BATCH = 100;
/** The longest window one sample may cover; longer gaps are sent as no sample. */
export const MAX_SAMPLE_WINDOW_MS = 3_600_000;

const counter = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const window = {
  /** The end of the window the sample covers (when it was taken), RFC 3339. */
  at: z.iso.datetime({ offset: true }),
  /** How long the window was, since the previous sample of the same subject. */
  windowMs: z.number().int().min(1).max(MAX_SAMPLE_WINDOW_MS),
  /** CPU time used within the window, in nanoseconds (all the subject's containers, or all cores). */
  cpuNanos: counter,
  /** Memory working set at the end of the window (usage less inactive page cache), in bytes. */
  memoryBytes: counter,
  /** Bytes received and sent within the window. */
  rxBytes: counter,
  txBytes: counter,
};

/** One pod's usage over one window, summed over its running containers. */
export const podSampleSchema = z
  .object({
    podId: objectId,
    ...window,
    /** The pod's restarts so far (Kubernetes' restartCount, summed over its containers). */
    restarts: z.number().int().min(0).max(1_000_000),
  })
  .strict();
export type PodSample = z.infer<typeof podSampleSchema>;

/** The node's own usage over one window (what `top nodes` shows). */
export const nodeSampleSchema = z.object(window).strict();
export type NodeSample = z.infer<typeof nodeSampleSchema>;

/**
 * `POST /v1/nodes/metrics`: a batch of samples. A sample already stored (same pod or node, same
 * instant) is ignored, so an agent may send a batch again when it did not hear the answer.
 */
export const metricsBatchSchema = z
  .object({
    pods: z.array(podSampleSchema).max(MAX_METRIC_SAMPLES_PER_BATCH),
    node: z.array(nodeSampleSchema).max(MAX_NODE_SAMPLES_PER_BATCH),
  })
  .strict();
export type MetricsBatch = z.infer<typeof metricsBatchSchema>;

export const metricsReplySchema = z.object({
  /** Samples stored (duplicates and samples of pods no longer on the node are not). */
  accepted: z.number().int().min(0),
});
export type MetricsReply = z.infer<typeof metricsReplySchema>;
