import type { HeartbeatReply } from "@berth/protocol";

export interface HeartbeatOptions {
  intervalMs: number;
  /** One heartbeat: its own small request, never queued behind pod work or status reports. */
  send: () => Promise<HeartbeatReply>;
  onReply: (reply: HeartbeatReply) => void;
  onError: (error: unknown, failures: number) => void;
  /**
   * Whether a beat may be left out, given how long ago the last one was answered (the control plane
   * holds the lease another way: the node channel). Asked at every interval, so a beat is sent
   * within one interval of this turning false.
   */
  skip?: (sinceLastOkMs: number) => boolean;
}

/**
 * Renews the node's lease on a timer of its own. A beat that takes long delays the next one only
 * by what is left of the interval; pod work never delays it.
 */
export class Heartbeat {
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private beating: Promise<void> = Promise.resolve();
  lastOkAt: number | null = null;
  failures = 0;

  constructor(private readonly opts: HeartbeatOptions) {}

  start(): void {
    this.running = true;
    this.beat();
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    await this.beating;
  }

  private beat(): void {
    if (!this.running) return;
    const started = Date.now();
    if (this.lastOkAt !== null && this.failures === 0 && this.opts.skip?.(started - this.lastOkAt)) {
      this.timer = setTimeout(() => this.beat(), this.opts.intervalMs);
      return;
    }
    this.beating = this.opts
      .send()
      .then((reply) => {
        this.lastOkAt = Date.now();
        this.failures = 0;
        this.opts.onReply(reply);
      })
      .catch((error: unknown) => {
        this.failures += 1;
        this.opts.onError(error, this.failures);
      })
      .finally(() => {
        if (!this.running) return;
        this.timer = setTimeout(
          () => this.beat(),
          Math.max(0, this.opts.intervalMs - (Date.now() - started)),
        );
      });
  }
}

/** A heartbeat's body naming the agent's version, if it has one. */
export const versionOf = (agentVersion: string | undefined): { agentVersion?: string } =>
  agentVersion ? { agentVersion } : {};
