/** One long poll's wait for its node to be woken. */
export interface NodeWaiter {
  /** True as soon as the node was woken (since the last call), false after `timeoutMs` or when ended. */
  next(timeoutMs: number, signal?: AbortSignal): Promise<boolean>;
  close(): void;
}

/**
 * The long polls a replica holds, by node: `wake(nodeId)` answers each of that node's waiters at
 * once (or its next `next` call, if none is waiting now), so no wake-up between two polls is lost.
 */
export interface NodeWaiters {
  add(nodeId: string): NodeWaiter;
  wake(nodeId: string): void;
  /** Wakes every waiter (what happened meanwhile may have been missed: look again). */
  wakeAll(): void;
  /** Answers every waiter false, and every later wait at once (the replica is stopping). */
  endAll(): void;
}

interface Waiter {
  nodeId: string;
  pending: boolean;
  closed: boolean;
  resolve: ((woken: boolean) => void) | null;
}

/** `maxPerNode`: waits of one node held at once; the oldest is answered (and ends) when more arrive. */
export function createNodeWaiters(opts: { maxPerNode?: number } = {}): NodeWaiters {
  const maxPerNode = opts.maxPerNode ?? Number.POSITIVE_INFINITY;
  const waiters = new Map<string, Set<Waiter>>();
  let ended = false;

  const answer = (w: Waiter, woken: boolean) => {
    w.pending = w.pending || woken;
    const resolve = w.resolve;
    w.resolve = null;
    resolve?.(woken);
  };
  const remove = (w: Waiter) => {
    const set = waiters.get(w.nodeId);
    set?.delete(w);
    if (set?.size === 0) waiters.delete(w.nodeId);
  };

  return {
    add(nodeId) {
      let set = waiters.get(nodeId);
      if (!set) {
        set = new Set();
        waiters.set(nodeId, set);
      }
      if (set.size >= maxPerNode) {
        const oldest = set.values().next().value;
        if (oldest) {
          oldest.closed = true;
          set.delete(oldest);
          answer(oldest, false);
        }
      }
      const w: Waiter = { nodeId, pending: false, closed: false, resolve: null };
      set.add(w);
      return {
        next(timeoutMs, signal) {
          if (w.pending) {
            w.pending = false;
            return Promise.resolve(true);
          }
          if (w.closed || ended || signal?.aborted || timeoutMs <= 0) return Promise.resolve(false);
          return new Promise<boolean>((resolve) => {
            const done = (woken: boolean) => {
              clearTimeout(timer);
              signal?.removeEventListener("abort", onAbort);
              w.resolve = null;
              if (woken) w.pending = false;
              resolve(woken);
            };
            const onAbort = () => done(false);
            const timer = setTimeout(() => done(false), timeoutMs);
            signal?.addEventListener("abort", onAbort, { once: true });
            w.resolve = done;
          });
        },
        close() {
          w.closed = true;
          remove(w);
          answer(w, false);
        },
      };
    },
    wake(nodeId) {
      for (const w of waiters.get(nodeId) ?? []) answer(w, true);
    },
    wakeAll() {
      for (const set of waiters.values()) for (const w of set) answer(w, true);
    },
    endAll() {
      ended = true;
      for (const set of waiters.values()) for (const w of set) answer(w, false);
    },
  };
}
