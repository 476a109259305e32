export interface GroupCommitOptions {
  /** How long the first item of a batch waits for others (default 10 ms). */
  windowMs?: number;
  /** A batch is written at once when it has this many (default 500). */
  maxBatch?: number;
}

interface Waiter<In, Out> {
  item: In;
  resolve: (out: Out | null) => void;
}

/**
 * Group commit: the items submitted within a few milliseconds of each other are written by one
 * call of `write` (one statement), and each submitter is answered once it has committed, so N
 * nodes' calls cost Postgres N / batch statements rather than N transactions. `write` answers one
 * result per item, in order. A batch that fails answers `null` to every item of it, and each
 * caller takes its own path, which says what is wrong.
 */
export class GroupCommit<In, Out> {
  private waiting: Waiter<In, Out>[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly windowMs: number;
  private readonly maxBatch: number;

  constructor(
    private readonly write: (batch: readonly In[]) => Promise<readonly Out[]>,
    opts: GroupCommitOptions = {},
  ) {
    this.windowMs = opts.windowMs ?? 10;
    this.maxBatch = opts.maxBatch ?? 500;
  }

  submit(item: In): Promise<Out | null> {
    return new Promise((resolve) => {
      this.waiting.push({ item, resolve });
      if (this.waiting.length >= this.maxBatch) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.windowMs);
    });
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.waiting;
    this.waiting = [];
    if (batch.length === 0) return;
    this.write(batch.map((w) => w.item)).then(
      (outs) => {
        for (const [i, w] of batch.entries()) w.resolve(outs[i] ?? null);
      },
      () => {
        for (const w of batch) w.resolve(null);
      },
    );
  }
}
