import { STREAM_POLL_MAX_WAIT_MS, type StreamPollReply, type StreamRequest } from "@berth/protocol";

export interface StreamPollOptions {
  /** One long poll: answers as soon as streams are asked of the node, else after `waitMs`. */
  poll: (waitMs: number, signal: AbortSignal) => Promise<StreamPollReply>;
  onRequest: (request: StreamRequest) => void;
  onError: (error: unknown, failures: number) => void;
  waitMs?: number;
}

/**
 * The agent's second outbound long poll, beside the assignment watch: it brings log and exec
 * requests the moment a client asks (the control plane answers it from Redis pub/sub), each
 * served on a connection of its own. Asked again as soon as it answers; back-off after failures.
 */
export class StreamPoll {
  private readonly abort = new AbortController();
  private running = false;
  private loop: Promise<void> = Promise.resolve();
  failures = 0;

  constructor(private readonly opts: StreamPollOptions) {}

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
        const reply = await this.opts.poll(this.opts.waitMs ?? STREAM_POLL_MAX_WAIT_MS, this.abort.signal);
        this.failures = 0;
        for (const r of reply.requests) this.opts.onRequest(r);
      } catch (error) {
        if (!this.running) return;
        this.failures += 1;
        this.opts.onError(error, this.failures);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.min(500 * 2 ** (this.failures - 1), 15_000));
          this.abort.signal.addEventListener(
            "abort",
            () => {
              clearTimeout(timer);
              resolve();
            },
            { once: true },
          );
        });
      }
    }
  }
}
