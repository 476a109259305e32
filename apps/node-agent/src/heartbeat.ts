import { CHANNEL_LEASE_HEARTBEAT_MS, type HeartbeatReply } from "@berth/protocol";
import { ApiError, type ControlPlane } from "./api";

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

/**
 * A node's heartbeat as its session runs it. A control plane that announces an agent knows the
 * heartbeat's `agentVersion` (an older one would refuse the field): the version is named from the
 * reply after the first announcement. While the node channel holds the lease, a beat goes only
 * every CHANNEL_LEASE_HEARTBEAT_MS, once the version has been named (a restarted agent says at once
 * that it runs another version).
 */
export function nodeHeartbeat(o: {
  cp: Pick<ControlPlane, "heartbeat" | "channelHoldsLease">;
  intervalMs: number;
  credential: () => string;
  agentVersion: string | undefined;
  onReply: (reply: HeartbeatReply) => void;
  onError: (error: unknown, failures: number) => void;
}): Heartbeat {
  let nameVersion = false;
  let naming = false;
  let versionNamed = false;
  return new Heartbeat({
    intervalMs: o.intervalMs,
    skip: (since) =>
      since < CHANNEL_LEASE_HEARTBEAT_MS &&
      (versionNamed || !nameVersion || !o.agentVersion) &&
      o.cp.channelHoldsLease(),
    send: () => {
      naming = nameVersion && o.agentVersion !== undefined;
      return o.cp.heartbeat(o.credential(), naming ? { agentVersion: o.agentVersion } : {});
    },
    onReply: (r) => {
      versionNamed ||= naming;
      nameVersion = r.agent !== undefined;
      o.onReply(r);
    },
    onError: (e, n) => {
      // Refused: perhaps a control plane rolled back to one before the field; name it no more.
      if (e instanceof ApiError && e.status === 400) nameVersion = false;
      o.onError(e, n);
    },
  });
}
