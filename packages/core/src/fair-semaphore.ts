/**
 * A semaphore shared fairly between keys (tenants): at most `capacity` holders in all, at most
 * `perKey` of one key, and when holders must wait, the slots freed go round-robin across the keys
 * that wait — one tenant with a hundred waiting calls does not delay another tenant's one call by
 * a hundred turns. In-process: each replica keeps its own.
 */
export interface FairSemaphoreOptions {
  capacity: number;
  perKey: number;
}

interface Waiter {
  grant: () => void;
  timer: NodeJS.Timeout | undefined;
  urgent: boolean;
}

export interface AcquireOptions {
  /** Rejects with SemaphoreTimeoutError after this long without a slot. */
  timeoutMs?: number;
  /**
   * Goes ahead of the key's calls that are not urgent (after its urgent ones): a node's lease must
   * not wait behind a thousand of its tenant's joins. Still within the key's share.
   */
  urgent?: boolean;
}

export class SemaphoreTimeoutError extends Error {
  constructor(readonly key: string) {
    super(`no slot for ${key} in time`);
    this.name = "SemaphoreTimeoutError";
  }
}

export class FairSemaphore {
  private active = 0;
  private readonly activeByKey = new Map<string, number>();
  private readonly waiting = new Map<string, Waiter[]>();
  private ring: string[] = [];
  private next = 0;

  constructor(private readonly opts: FairSemaphoreOptions) {}

  /** Holders now, in all and of one key (for metrics and tests). */
  inUse(key?: string): number {
    return key === undefined ? this.active : (this.activeByKey.get(key) ?? 0);
  }

  /** Resolves with a release function once a slot is held. */
  acquire(key: string, opts: AcquireOptions = {}): Promise<() => void> {
    if (!this.waiting.has(key) && this.canGrant(key)) return Promise.resolve(this.take(key));
    return new Promise((resolve, reject) => {
      const urgent = opts.urgent ?? false;
      const waiter: Waiter = { grant: () => resolve(this.take(key)), timer: undefined, urgent };
      if (opts.timeoutMs !== undefined)
        waiter.timer = setTimeout(() => {
          this.forget(key, waiter);
          reject(new SemaphoreTimeoutError(key));
        }, opts.timeoutMs);
      const queue = this.waiting.get(key);
      if (queue) {
        const firstPlain = urgent ? queue.findIndex((w) => !w.urgent) : -1;
        if (firstPlain === -1) queue.push(waiter);
        else queue.splice(firstPlain, 0, waiter);
      } else {
        this.waiting.set(key, [waiter]);
        this.ring.push(key);
      }
    });
  }

  /** Runs `fn` holding a slot of `key`. */
  async run<T>(key: string, fn: () => Promise<T>, opts: AcquireOptions = {}): Promise<T> {
    const release = await this.acquire(key, opts);
    try {
      return await fn();
    } finally {
      release();
    }
  }

  private canGrant(key: string): boolean {
    return this.active < this.opts.capacity && (this.activeByKey.get(key) ?? 0) < this.opts.perKey;
  }

  private take(key: string): () => void {
    this.active++;
    this.activeByKey.set(key, (this.activeByKey.get(key) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.active--;
      const left = (this.activeByKey.get(key) ?? 1) - 1;
      if (left === 0) this.activeByKey.delete(key);
      else this.activeByKey.set(key, left);
      this.dispatch();
    };
  }

  /** Hands free slots to waiting keys, one key after another. */
  private dispatch(): void {
    let scanned = 0;
    while (this.active < this.opts.capacity && this.ring.length > 0 && scanned < this.ring.length) {
      if (this.next >= this.ring.length) this.next = 0;
      const key = this.ring[this.next] as string;
      const queue = this.waiting.get(key);
      if (queue && queue.length > 0 && this.canGrant(key)) {
        const waiter = queue.shift() as Waiter;
        if (queue.length === 0) this.dropKey(key);
        else this.next++;
        if (waiter.timer) clearTimeout(waiter.timer);
        waiter.grant();
        scanned = 0;
      } else {
        this.next++;
        scanned++;
      }
    }
  }

  private forget(key: string, waiter: Waiter): void {
    const queue = this.waiting.get(key);
    if (!queue) return;
    const i = queue.indexOf(waiter);
    if (i !== -1) queue.splice(i, 1);
    if (queue.length === 0) this.dropKey(key);
  }

  private dropKey(key: string): void {
    this.waiting.delete(key);
    const i = this.ring.indexOf(key);
    if (i !== -1) {
      this.ring.splice(i, 1);
      if (this.next > i) this.next--;
    }
  }
}
