import type { SyncReply, SyncRequest } from "@berth/protocol";

export interface ReporterOptions {
  /** A full report, and the control plane's answer. */
  send: (body: SyncRequest) => Promise<SyncReply>;
  build: () => Promise<SyncRequest>;
  onReply: (reply: SyncReply) => void;
  onError: (error: unknown, failures: number) => void;
  /** How often the report is looked at, and a failed one tried again. */
  intervalMs: number;
  /**
   * A report the same as the last one the control plane took (no event, no change) goes only this
   * often (default `intervalMs`): the safety net under the event-driven reports, which also brings
   * the assignments and a renewed credential. Kubelet, likewise, sends a pod status only when it
   * differs from what the API server has.
   */
  unchangedIntervalMs?: number;
  now?: () => number;
  /** Changes arriving within this window go in one report. */
  debounceMs?: number;
}

/**
 * Sends the node's status report when it changes (a pod started, crashed, went), looks at it every
 * `intervalMs` and sends it then if it differs from the last one taken, and sends it at least every
 * `unchangedIntervalMs` regardless; one report at a time, and a change during a report makes one more.
 */
export class StatusReporter {
  private timer: NodeJS.Timeout | null = null;
  private debounce: NodeJS.Timeout | null = null;
  private running = false;
  private inFlight: Promise<void> | null = null;
  private pending = false;
  lastOkAt: number | null = null;
  failures = 0;
  /** The last report the control plane took (without its events, which are never the same twice). */
  private lastTaken: string | null = null;
  /** Reports not sent because nothing had changed. */
  skipped = 0;

  constructor(private readonly opts: ReporterOptions) {}

  /** Sends a first report and settles with it. */
  async start(): Promise<void> {
    this.running = true;
    await this.report(true);
  }

  /** Something changed: report soon. */
  poke(): void {
    if (!this.running || this.debounce) return;
    this.debounce = setTimeout(() => {
      this.debounce = null;
      void this.report();
    }, this.opts.debounceMs ?? 50);
  }

  /** Reports now (after the report in flight, if any) and settles with it; `force`: even if unchanged. */
  report(force = false): Promise<void> {
    if (this.inFlight) {
      this.pending = true;
      return this.inFlight;
    }
    if (this.timer) clearTimeout(this.timer);
    this.inFlight = this.once(force).finally(() => {
      this.inFlight = null;
      if (!this.running) return;
      if (this.pending) {
        this.pending = false;
        void this.report();
      } else this.timer = setTimeout(() => void this.report(), this.opts.intervalMs);
    });
    return this.inFlight;
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    if (this.debounce) clearTimeout(this.debounce);
    await this.inFlight;
  }

  private async once(force: boolean): Promise<void> {
    const now = this.opts.now ?? Date.now;
    try {
      const body = await this.opts.build();
      const { events, ...rest } = body;
      const text = JSON.stringify(rest);
      const quietMs = this.opts.unchangedIntervalMs ?? this.opts.intervalMs;
      if (
        !force &&
        !events?.length &&
        text === this.lastTaken &&
        this.lastOkAt !== null &&
        now() - this.lastOkAt < quietMs
      ) {
        this.skipped += 1;
        return;
      }
      const reply = await this.opts.send(body);
      this.lastOkAt = now();
      this.lastTaken = text;
      this.failures = 0;
      this.opts.onReply(reply);
    } catch (error) {
      this.failures += 1;
      this.opts.onError(error, this.failures);
    }
  }
}
