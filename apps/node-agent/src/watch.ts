import { WATCH_MAX_WAIT_MS, type WatchReply } from "@berth/protocol";

export interface WatchOptions {
  /** One long poll: answers at once when the assignments differ from `version`, else when they change. */
  poll: (version: string | undefined, waitMs: number, signal: AbortSignal) => Promise<WatchReply>;
  onReply: (reply: WatchReply) => void;
  onError: (error: unknown, failures: number) => void;
  waitMs?: number;
}

/**
 * The one outbound long-lived request that brings assignments the moment they are committed: a
 * long poll, asked again as soon as it answers (with back-off after failures).
 */
export class AssignmentWatch {
  private readonly abort = new AbortController();
  private running = false;
  private loop: Promise<void> = Promise.resolve();
  private version: string | undefined;
  lastOkAt: number | null = null;
  failures = 0;

  constructor(private readonly opts: WatchOptions) {}

  /** Whether its answers can be relied on to be current (it answered within its wait, plus margin). */
  get healthy(): boolean {
    const wait = this.opts.waitMs ?? WATCH_MAX_WAIT_MS;
    return this.lastOkAt !== null && this.failures === 0 && Date.now() - this.lastOkAt < wait + 15_000;
  }

  start(): void {
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.abort.abort();
    await this.loop;
  }

  private async run(): Promise<void> {
    while (this.running) {
      try {
        const reply = await this.opts.poll(
          this.version,
          this.opts.waitMs ?? WATCH_MAX_WAIT_MS,
          this.abort.signal,
        );
        this.lastOkAt = Date.now();
        this.failures = 0;
        if (reply.version !== this.version) {
          this.version = reply.version;
          this.opts.onReply(reply);
        }
      } catch (error) {
        if (!this.running) return;
        this.failures += 1;
        this.opts.onError(error, this.failures);
        await this.sleep(Math.min(500 * 2 ** (this.failures - 1), 15_000));
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const signal = this.abort.signal;
      const onAbort = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        signal.removeEventListener("abort", onAbort);
        resolve();
      }, ms);
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }
}
