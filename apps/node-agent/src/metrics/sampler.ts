import { type Logger, mapLimit } from "@berth/core";
import {
  CONTAINER_LABELS,
  MAX_NODE_SAMPLES_PER_BATCH,
  MAX_SAMPLE_WINDOW_MS,
  type MetricsBatch,
  type MetricsReply,
  type NodeSample,
  type PodSample,
} from "@berth/protocol";
import type { ContainerRuntime, ContainerStats } from "../runtime";
import type { HostCounters } from "./host-stats";

/** Pod samples a batch carries: a few hundred keep a batch well under the API's body limit. */
export const POD_SAMPLES_PER_REQUEST = 500;
/** Stats asked of the engine at once. */
const STATS_CONCURRENCY = 8;

export interface SamplerOptions {
  runtime: ContainerRuntime;
  nodeId: string;
  /** The node's own counters (Linux /proc). */
  host: () => Promise<HostCounters>;
  /** Each pod's restarts so far, as the node reports them. */
  restarts: () => ReadonlyMap<string, number>;
  send: (batch: MetricsBatch) => Promise<MetricsReply>;
  now: () => number;
  logger: Logger;
  /** Samples kept while the control plane cannot be reached; the oldest go first (default 20,000). */
  maxBuffered?: number;
}

interface Counters {
  cpuNanos: number;
  rxBytes: number;
  txBytes: number;
}

/**
 * Samples every running container of the node and the node itself, and sends what it took in
 * batches. The engine's counters are cumulative per container; a sample is what was used since the
 * previous one (a container first seen after the first round counts from its start, so a restart
 * loses nothing). Samples the control plane did not take are sent again with the next batch.
 */
export class MetricsSampler {
  private previous = new Map<string, Counters>();
  private previousHost: HostCounters | null = null;
  private lastAt: number | null = null;
  private pods: PodSample[] = [];
  private node: NodeSample[] = [];

  constructor(private readonly opts: SamplerOptions) {}

  /** Samples kept until the control plane takes them. */
  get buffered(): number {
    return this.pods.length + this.node.length;
  }

  /** One round: sample, then send everything buffered. */
  async tick(): Promise<void> {
    await this.sample();
    await this.flush();
  }

  async sample(): Promise<void> {
    const at = this.opts.now();
    const containers = (await this.opts.runtime.list({ [CONTAINER_LABELS.node]: this.opts.nodeId })).filter(
      (c) => c.state === "running" && c.labels[CONTAINER_LABELS.pod],
    );
    const stats = await mapLimit(containers, STATS_CONCURRENCY, (c) =>
      this.opts.runtime.stats(c.id).catch((): ContainerStats | null => null),
    );
    const host = await this.opts.host().catch((error: unknown) => {
      this.opts.logger.warn({ err: (error as Error).message }, "could not read the node's counters");
      return null;
    });
    const windowMs = this.lastAt === null ? 0 : at - this.lastAt;
    const counting = windowMs > 0 && windowMs <= MAX_SAMPLE_WINDOW_MS;
    const first = this.lastAt === null;
    const byPod = new Map<string, Omit<PodSample, "podId" | "at" | "windowMs" | "restarts">>();
    const seen = new Map<string, Counters>();
    containers.forEach((c, i) => {
      const s = stats[i];
      if (!s) return;
      seen.set(c.id, s);
      // On the first round every counter is a baseline: the agent cannot tell what came before it.
      const before = this.previous.get(c.id) ?? (first ? s : { cpuNanos: 0, rxBytes: 0, txBytes: 0 });
      const podId = c.labels[CONTAINER_LABELS.pod] as string;
      const sum = byPod.get(podId) ?? { cpuNanos: 0, memoryBytes: 0, rxBytes: 0, txBytes: 0 };
      sum.cpuNanos += delta(s.cpuNanos, before.cpuNanos);
      sum.memoryBytes += s.memoryBytes;
      // A container in its pod's sandbox reports the sandbox's interfaces: counted once, there.
      if (c.sandboxId === null) {
        sum.rxBytes += delta(s.rxBytes, before.rxBytes);
        sum.txBytes += delta(s.txBytes, before.txBytes);
      }
      byPod.set(podId, sum);
    });
    this.previous = seen;
    if (counting) {
      const restarts = this.opts.restarts();
      const iso = new Date(at).toISOString();
      for (const [podId, s] of byPod)
        this.pods.push({ podId, at: iso, windowMs, ...s, restarts: restarts.get(podId) ?? 0 });
      if (host && this.previousHost)
        this.node.push({
          at: iso,
          windowMs,
          cpuNanos: delta(host.cpuNanos, this.previousHost.cpuNanos),
          memoryBytes: host.memoryBytes,
          rxBytes: delta(host.rxBytes, this.previousHost.rxBytes),
          txBytes: delta(host.txBytes, this.previousHost.txBytes),
        });
    }
    if (host) this.previousHost = host;
    this.lastAt = at;
    this.trim();
  }

  /** Sends the buffered samples, a bounded batch at a time; what was not taken stays for next time. */
  async flush(): Promise<void> {
    while (this.pods.length > 0 || this.node.length > 0) {
      const batch: MetricsBatch = {
        pods: this.pods.slice(0, POD_SAMPLES_PER_REQUEST),
        node: this.node.slice(0, MAX_NODE_SAMPLES_PER_BATCH),
      };
      await this.opts.send(batch);
      this.pods.splice(0, batch.pods.length);
      this.node.splice(0, batch.node.length);
    }
  }

  private trim(): void {
    const max = this.opts.maxBuffered ?? 20_000;
    if (this.pods.length > max) this.pods.splice(0, this.pods.length - max);
    if (this.node.length > max) this.node.splice(0, this.node.length - max);
  }
}

/** What a cumulative counter grew by; a counter that went back (a reset) counts from zero. */
function delta(now: number, before: number): number {
  return now >= before ? now - before : now;
}
