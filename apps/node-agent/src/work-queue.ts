/**
 * Runs work for many keys (pods) at once, at most `concurrency` at a time, and never two runs for
 * one key at once: a key asked for while its work runs is run once more afterwards (later asks
 * fold into that one). One key's failure is reported and stops nothing else.
 */
export class KeyedWorkQueue {
  private readonly queued: string[] = [];
  private readonly queuedSet = new Set<string>();
  private readonly running = new Set<string>();
  private readonly again = new Set<string>();
  private idleWaiters: (() => void)[] = [];
  private stopped = false;

  constructor(
    private readonly concurrency: number,
    private readonly work: (key: string) => Promise<void>,
    private readonly onError: (key: string, error: unknown) => void,
  ) {
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new Error("concurrency must be at least 1");
  }

  /** Asks for `key`'s work to run (again). */
  enqueue(key: string): void {
    if (this.stopped) return;
    if (this.running.has(key)) {
      this.again.add(key);
      return;
    }
    if (this.queuedSet.has(key)) return;
    this.queued.push(key);
    this.queuedSet.add(key);
    this.pump();
  }

  /** Whether work on `key` runs now. */
  isRunning(key: string): boolean {
    return this.running.has(key);
  }

  /** How many keys run or wait. */
  get size(): number {
    return this.running.size + this.queued.length;
  }

  /** Settles when nothing runs or waits. */
  idle(): Promise<void> {
    if (this.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Drops what waits and settles once what runs has finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.queued.length = 0;
    this.queuedSet.clear();
    this.again.clear();
    await this.idle();
  }

  private pump(): void {
    while (this.running.size < this.concurrency && this.queued.length > 0) {
      const key = this.queued.shift() as string;
      this.queuedSet.delete(key);
      this.run(key);
    }
    if (this.size === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  private run(key: string): void {
    this.running.add(key);
    this.work(key)
      .catch((error: unknown) => this.onError(key, error))
      .finally(() => {
        this.running.delete(key);
        if (this.again.delete(key)) this.enqueue(key);
        this.pump();
      });
  }
}
