import type { SyncReply, SyncRequest } from "@berth/protocol";

export interface ReporterOptions {
  /** A full report, and the control plane's answer. */
  send: (body: SyncRequest) => Promise<SyncReply>;
  build: () => Promise<SyncRequest>;
  onReply: (reply: SyncReply) => void;
  onError: (error: unknown, failures: number) => void;
  /** A report goes at least this often, changed or not (the safety net). */
  intervalMs: number;
  /** Changes arriving within this window go in one report. */
  debounceMs?: number;
}

/**
 * Sends the node's status report when it changes (a pod started, crashed, went) and at least every
 * `intervalMs`; one report at a time, and a change during a report makes one more.
 */
export class StatusReporter {
  private timer: NodeJS.Timeout | null = null;
  private debounce: NodeJS.Timeout | null = null;
  private running = false;
  private inFlight: Promise<void> | null = null;
  private pending = false;
  lastOkAt: number | null = null;
  failures = 0;

  constructor(private readonly opts: ReporterOptions) {}

  /** Sends a first report and settles with it. */
  async start(): Promise<void> {
    this.running = true;
    await this.report();
  }

  /** Something changed: report soon. */
  poke(): void {
    if (!this.running || this.debounce) return;
    this.debounce = setTimeout(() => {
      this.debounce = null;
      void this.report();
    }, this.opts.debounceMs ?? 50);
  }

  /** Reports now (after the report in flight, if any) and settles with it. */
  report(): Promise<void> {
    if (this.inFlight) {
      this.pending = true;
      return this.inFlight;
    }
    if (this.timer) clearTimeout(this.timer);
    this.inFlight = this.once().finally(() => {
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

  private async once(): Promise<void> {
    try {
      const reply = await this.opts.send(await this.opts.build());
      this.lastOkAt = Date.now();
      this.failures = 0;
      this.opts.onReply(reply);
    } catch (error) {
      this.failures += 1;
      this.opts.onError(error, this.failures);
    }
  }
}
